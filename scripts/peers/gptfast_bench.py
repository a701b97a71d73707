#!/usr/bin/env python3
"""Peer baseline: a gpt-fast style decode loop in plain torch, random bf16 Llama-3.1-8B shape.

The Llama math is written here (RMSNorm, RoPE with llama3 scaling, GQA attention through SDPA
over a static KV cache, SwiGLU; fused QKV and gate/up weights as gpt-fast does), and the
one-token decode step (model + greedy argmax) is compiled with torch.compile
mode="reduce-overhead" and fullgraph=True, which captures it in a CUDA graph (per batch size:
each new batch size compiles again, ~30-60 s on an H100, so the list is a flag). Prefill runs
eager unless --compile-prefill (then max-autotune-no-cudagraphs, dynamic shapes).

  python scripts/peers/gptfast_bench.py --batch-sizes 1,8,64 --out OUT/gptfast.md
  python scripts/peers/gptfast_bench.py --self-test   # CPU: logits vs HF LlamaForCausalLM, then the loop
"""
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_common as pc  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def inv_freq(cfg, head_dim):
    """RoPE inverse frequencies, with Llama 3's band-wise scaling when the config asks for it."""
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= old / hi) & (wavelen <= old / lo)
        inv = torch.where(medium, smoothed, scaled)
    elif kind not in (None, "default"):
        sys.exit(f"error: rope_scaling type {kind} not supported by this script")
    return inv.float()


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        d, inter = c["hidden_size"], c["intermediate_size"]
        self.wqkv = nn.Linear(d, (self.nh + 2 * self.nkv) * self.hd, bias=False)
        self.wo = nn.Linear(self.nh * self.hd, d, bias=False)
        self.w13 = nn.Linear(d, 2 * inter, bias=False)
        self.w2 = nn.Linear(inter, d, bias=False)
        self.attn_norm = RMSNorm(d, c["rms_norm_eps"])
        self.ffn_norm = RMSNorm(d, c["rms_norm_eps"])
        # buffers, not plain attributes: torch.compile treats module buffers as static addresses, so the
        # in-place cache writes stay inside the CUDA graph (gpt-fast registers its KV cache the same way)
        self.register_buffer("k_cache", None, persistent=False)
        self.register_buffer("v_cache", None, persistent=False)

    def forward(self, x, cos, sin, mask, input_pos):
        b, t, _ = x.shape
        q, k, v = self.wqkv(self.attn_norm(x)).split(
            [self.nh * self.hd, self.nkv * self.hd, self.nkv * self.hd], dim=-1)
        q = q.view(b, t, self.nh, self.hd).transpose(1, 2)
        k = k.view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = v.view(b, t, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        self.k_cache.index_copy_(2, input_pos, k)
        self.v_cache.index_copy_(2, input_pos, v)
        y = F.scaled_dot_product_attention(q, self.k_cache, self.v_cache, attn_mask=mask, enable_gqa=True)
        x = x + self.wo(y.transpose(1, 2).reshape(b, t, self.nh * self.hd))
        gate, up = self.w13(self.ffn_norm(x)).chunk(2, dim=-1)
        return x + self.w2(F.silu(gate) * up)


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        c = dict(c)
        c.setdefault("head_dim", c["hidden_size"] // c["num_attention_heads"])
        self.c = c
        self.embed = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.max_seq = 0
        for name in ("cos", "sin", "causal"):
            self.register_buffer(name, None, persistent=False)

    def setup_caches(self, batch, max_seq):
        """Static KV cache [batch, kv heads, max_seq, head_dim] per layer, RoPE tables and the causal mask."""
        p = self.lm_head.weight
        for layer in self.layers:
            shape = (batch, layer.nkv, max_seq, layer.hd)
            layer.k_cache = torch.zeros(shape, dtype=p.dtype, device=p.device)
            layer.v_cache = torch.zeros(shape, dtype=p.dtype, device=p.device)
        freqs = torch.outer(torch.arange(max_seq, dtype=torch.float32), inv_freq(self.c, self.c["head_dim"]))
        emb = torch.cat((freqs, freqs), dim=-1).to(p.device)
        self.cos, self.sin = emb.cos().to(p.dtype), emb.sin().to(p.dtype)
        self.causal = torch.tril(torch.ones(max_seq, max_seq, dtype=torch.bool, device=p.device))
        self.max_seq = max_seq

    def forward(self, idx, input_pos, all_logits=False):
        x = self.embed(idx)
        cos, sin = self.cos[input_pos], self.sin[input_pos]
        mask = self.causal[input_pos][None, None]
        for layer in self.layers:
            x = layer(x, cos, sin, mask, input_pos)
        x = self.norm(x if all_logits else x[:, -1:])
        return self.lm_head(x).float()


def random_model(cfg, device, dtype):
    """Built on the meta device, then given memory on the device and filled there: seconds for 8B."""
    with torch.device("meta"):
        m = Llama(cfg)
    m = m.to_empty(device=device).to(dtype)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    return m.eval()


def decode_one(model, tok, input_pos):
    return model(tok, input_pos).argmax(dim=-1)


def bench(model, args, rep, compile_decode, gen):
    vocab = model.c["vocab_size"]
    dev = args.device
    step = torch.compile(decode_one, mode="reduce-overhead", fullgraph=True) if compile_decode else decode_one
    prefill = torch.compile(model, mode="max-autotune-no-cudagraphs", dynamic=True) \
        if args.compile_prefill else model
    mode = "compiled" if compile_decode else "eager"
    with torch.no_grad():
        for b in args.batch_sizes:
            t0 = time.perf_counter()
            model.setup_caches(b, args.prompt_len + args.decode_steps + 1)
            times = []
            for rnd in range(2):     # round 0 compiles and records the graph, round 1 is measured
                ids = torch.randint(0, vocab, (b, args.prompt_len), device=dev, generator=gen)
                tok = prefill(ids, torch.arange(args.prompt_len, device=dev)).argmax(dim=-1)
                pos = torch.tensor([args.prompt_len], device=dev)
                times = []
                for i in range(args.decode_steps):
                    pc.sync(torch, dev)
                    s = time.perf_counter()
                    tok = step(model, tok.clone(), pos)
                    pc.sync(torch, dev)
                    times.append(time.perf_counter() - s)
                    pos += 1
                if rnd == 0:
                    pc.log(f"{mode} batch {b}: compile + first round {time.perf_counter() - t0:.1f} s")
            rep.add_decode(mode, b, times)
            model.setup_caches(1, 1)     # free this batch's cache before the next one
        for n in args.prefill_lens:
            model.setup_caches(1, n)
            pos = torch.arange(n, device=dev)
            ts = []
            for i in range(4):
                ids = torch.randint(0, vocab, (1, n), device=dev, generator=gen)
                pc.sync(torch, dev)
                s = time.perf_counter()
                prefill(ids, pos).argmax(dim=-1)
                pc.sync(torch, dev)
                if i > 0:
                    ts.append(time.perf_counter() - s)
            rep.add_prefill("compiled" if args.compile_prefill else "eager", n, ts)


def self_test():
    """Tiny model in float32 on the CPU: logits of prefill and cached decode must equal HF's."""
    import transformers
    cfg = pc.load_config(pc.DEFAULT_SHAPE)
    cfg.update(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, vocab_size=300, bos_token_id=1, eos_token_id=2,
               rope_scaling=dict(cfg["rope_scaling"], original_max_position_embeddings=16))  # bands hit at short range
    torch.manual_seed(0)
    hf = transformers.LlamaForCausalLM(transformers.LlamaConfig(**{k: v for k, v in cfg.items()
                                                                   if k != "architectures"})).float().eval()
    m = random_model(cfg, "cpu", torch.float32)
    sd = hf.state_dict()
    with torch.no_grad():
        m.embed.weight.copy_(sd["model.embed_tokens.weight"])
        m.lm_head.weight.copy_(sd["lm_head.weight"])
        m.norm.weight.copy_(sd["model.norm.weight"])
        for i, layer in enumerate(m.layers):
            p = f"model.layers.{i}."
            layer.wqkv.weight.copy_(torch.cat([sd[p + f"self_attn.{x}_proj.weight"] for x in "qkv"]))
            layer.wo.weight.copy_(sd[p + "self_attn.o_proj.weight"])
            layer.w13.weight.copy_(torch.cat([sd[p + "mlp.gate_proj.weight"], sd[p + "mlp.up_proj.weight"]]))
            layer.w2.weight.copy_(sd[p + "mlp.down_proj.weight"])
            layer.attn_norm.weight.copy_(sd[p + "input_layernorm.weight"])
            layer.ffn_norm.weight.copy_(sd[p + "post_attention_layernorm.weight"])
    ids = torch.randint(0, 300, (2, 40))
    with torch.no_grad():
        ref = hf(input_ids=ids).logits
        m.setup_caches(2, 40)
        got = [m(ids[:, :30], torch.arange(30), all_logits=True)]
        for t in range(30, 40):         # then one token at a time through the cache
            got.append(m(ids[:, t:t + 1], torch.tensor([t])))
        got = torch.cat(got, dim=1)
    err = (got - ref).abs().max().item()
    scale = ref.abs().max().item()
    pc.log(f"self-test: max |logits - HF| = {err:.2e} (logits up to {scale:.2f})")
    if not err <= 1e-4 * max(1.0, scale):
        sys.exit(f"self-test FAILED: logits differ from HF LlamaForCausalLM by {err}")
    return cfg


def main():
    p = pc.parser(__doc__.splitlines()[0], "1,8,64")
    p.add_argument("--no-compile", action="store_true", help="eager decode (no torch.compile)")
    p.add_argument("--compile-prefill", action="store_true")
    p.add_argument("--self-test", action="store_true",
                   help="CPU: check the model math against HF transformers, then run the loop on a tiny shape")
    args = p.parse_args()
    if args.self_test:
        cfg = self_test()
        args.device, args.batch_sizes, args.prompt_len, args.decode_steps, args.prefill_lens = "cpu", [1, 3], 16, 4, [32]
        dtype = torch.float32
    else:
        cfg = pc.load_config(args.shape)
        dtype = torch.bfloat16
    pc.require_device(torch, args.device)
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    t0 = time.perf_counter()
    model = random_model(cfg, args.device, dtype)
    pc.sync(torch, args.device)
    pc.log(f"random model: {sum(x.numel() for x in model.parameters()) / 1e9:.2f} B parameters on {args.device} "
           f"in {time.perf_counter() - t0:.1f} s")
    shape = f"{args.shape.name} shape ({cfg['num_hidden_layers']} layers, hidden {cfg['hidden_size']}, " \
            f"{cfg['num_attention_heads']}/{cfg['num_key_value_heads']} heads, vocab {cfg['vocab_size']}), " \
            f"random {'bf16' if dtype == torch.bfloat16 else 'f32'}"
    rep = pc.Report("gpt-fast style torch.compile", f"torch {torch.__version__}", torch, args.device, args, shape)
    rep.notes.append(("decode step (model + argmax) compiled with mode='reduce-overhead', fullgraph=True (CUDA graph)"
                      if not args.no_compile else "decode step eager (--no-compile)")
                     + "; static KV cache; prefill " + ("compiled" if args.compile_prefill else "eager"))
    bench(model, args, rep, not args.no_compile, gen)
    rep.write()


if __name__ == "__main__":
    main()
