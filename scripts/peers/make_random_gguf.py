#!/usr/bin/env python3
"""A random-weight bf16 GGUF of a Llama HF config (default: Llama-3.1-8B's shape) for llama.cpp.

Written with llama.cpp's own gguf-py (numpy only; pass its folder with --gguf-py). To write
16 GB in seconds rather than minutes, the matrices repeat one random block of bf16 values
(N(0, 0.02)); norms are 1 (f32, as llama.cpp's converter keeps 1-D tensors); rope_freqs holds
the llama3 band factors exactly as convert_hf_to_gguf.py computes them. The vocabulary is a
SentencePiece-style list of placeholder tokens with the 256 byte tokens llama.cpp looks up, so
llama-bench can draw random token ids from the full vocab size.

  python scripts/peers/make_random_gguf.py --gguf-py SRC/gguf-py --out model.gguf [--shape DIR] [--self-test]
      [--set num_hidden_layers=2 --set hidden_size=256 ...]

--set overrides integer fields of the shape's config: a small model that keeps the real vocabulary
size (so token ids of the Llama-3 tokenizer stay valid), for a CPU dry run of llama-server.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = 1 << 24     # random values repeated through every matrix (32 MiB of bf16)


def bf16_block(rng, np):
    f = (rng.standard_normal(BLOCK, dtype=np.float32) * 0.02).astype(np.float32)
    return (f.view(np.uint32) >> 16).astype(np.uint16)     # truncation to bf16 is fine for random data


def rope_factors(cfg, np):
    """convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors for rope_type llama3, or None."""
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) != "llama3":
        return None
    hd = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    base = cfg.get("rope_theta", 10000.0)
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], \
        rs["original_max_position_embeddings"]
    out = []
    for i in range(0, hd, 2):
        freq = 1.0 / (base ** (i / hd))
        wavelen = 2 * math.pi / freq
        if wavelen < old / hi:
            out.append(1.0)
        elif wavelen > old / lo:
            out.append(factor)
        else:
            smooth = (old / wavelen - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gguf-py", type=Path, required=True, help="llama.cpp's gguf-py folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--shape", type=Path, default=ROOT / "models" / "shapes" / "llama-3.1-8b")
    p.add_argument("--self-test", action="store_true", help="a 2-layer, hidden-256 model, then read it back")
    p.add_argument("--set", action="append", default=[], metavar="KEY=INT",
                   help="override an integer config field (repeatable), e.g. num_hidden_layers=2")
    args = p.parse_args()
    if not (args.gguf_py / "gguf" / "gguf_writer.py").is_file():
        sys.exit(f"error: {args.gguf_py} is not llama.cpp's gguf-py folder (no gguf/gguf_writer.py)")
    sys.path.insert(0, str(args.gguf_py))
    try:
        import numpy as np
        import gguf
    except ImportError as e:
        sys.exit(f"error: {e} (gguf-py needs numpy and pyyaml)")
    cfg = json.loads((args.shape / "config.json").read_text())
    if args.self_test:
        cfg.update(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, vocab_size=1000)
    for kv in args.set:
        key, _, value = kv.partition("=")
        if key not in cfg or not isinstance(cfg[key], int) or not value.lstrip("-").isdigit():
            sys.exit(f"error: --set {kv}: want KEY=INT for an integer field of {args.shape / 'config.json'}")
        cfg[key] = int(value)
    d, inter, nl = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    nh, nkv, vocab = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
    hd = cfg.get("head_dim", d // nh)
    t0 = time.perf_counter()
    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name(f"random {args.shape.name}")
    w.add_context_length(cfg.get("max_position_embeddings", 8192))
    w.add_embedding_length(d)
    w.add_block_count(nl)
    w.add_feed_forward_length(inter)
    w.add_head_count(nh)
    w.add_head_count_kv(nkv)
    w.add_rope_dimension_count(hd)
    w.add_rope_freq_base(cfg.get("rope_theta", 10000.0))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    # Bytes >= 0x80 are typed NORMAL (they print as their "<0xNN>" text): random weights emit them
    # in no valid UTF-8 order, and llama-server then fails the request ("The model produced output
    # that does not match the expected Content-only format", 3 of 4 requests of the first H100
    # serving run). The SPM vocabulary still finds every "<0xNN>" by its text (byte_to_token).
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [
        gguf.TokenType.BYTE if b < 0x80 else gguf.TokenType.NORMAL for b in range(256)]
    tokens += [f"t{i}" for i in range(len(tokens), vocab)]
    types += [gguf.TokenType.NORMAL] * (vocab - len(types))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_scores([0.0] * vocab)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    mats = [("token_embd.weight", (vocab, d))]
    for i in range(nl):
        b = f"blk.{i}."
        mats += [(b + "attn_q.weight", (nh * hd, d)), (b + "attn_k.weight", (nkv * hd, d)),
                 (b + "attn_v.weight", (nkv * hd, d)), (b + "attn_output.weight", (d, nh * hd)),
                 (b + "ffn_gate.weight", (inter, d)), (b + "ffn_up.weight", (inter, d)),
                 (b + "ffn_down.weight", (d, inter))]
    mats.append(("output.weight", (vocab, d)))
    vecs = [(f"blk.{i}.{n}.weight", np.ones(d, dtype=np.float32)) for i in range(nl)
            for n in ("attn_norm", "ffn_norm")]
    vecs.append(("output_norm.weight", np.ones(d, dtype=np.float32)))
    rf = rope_factors(cfg, np)
    if rf is not None:
        vecs.append(("rope_freqs.weight", rf))
    for name, shape in mats:
        w.add_tensor_info(name, shape, np.dtype(np.uint16), math.prod(shape) * 2, raw_dtype=gguf.GGMLQuantizationType.BF16)
    for name, v in vecs:
        w.add_tensor_info(name, v.shape, v.dtype, v.nbytes)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    block = bf16_block(np.random.default_rng(0), np)
    total = 0
    for k, (name, shape) in enumerate(mats):
        a = np.resize(block, shape)    # repeats the block: a memcpy, not a random draw per value
        w.write_tensor_data(a)
        total += a.nbytes
        if k % 20 == 0:
            print(f"[{time.perf_counter() - t0:6.1f} s] {name} ({total / 1e9:.2f} GB so far)", file=sys.stderr, flush=True)
    for name, v in vecs:
        w.write_tensor_data(v)
    w.close()
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {size / 1e9:.2f} GB, {len(mats) + len(vecs)} tensors in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    if args.self_test:
        r = gguf.GGUFReader(args.out)
        names = {t.name: t for t in r.tensors}
        assert len(names) == len(mats) + len(vecs), len(names)
        t = names["blk.0.ffn_down.weight"]
        assert list(t.shape) == [inter, d] and t.tensor_type == gguf.GGMLQuantizationType.BF16, (t.shape, t.tensor_type)
        assert r.fields["llama.block_count"].parts[-1][0] == nl
        print("self-test: read back OK", file=sys.stderr)


if __name__ == "__main__":
    main()
