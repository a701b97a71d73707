#!/usr/bin/env python3
"""Peer baseline: HF transformers on random weights at the Llama-3.1-8B shape, bf16.

Two modes, each through model.generate (greedy, min_new_tokens = max_new_tokens so EOS never
stops it): eager (the default dynamic cache) and static (HF's documented recipe for
torch.compile: generation_config.cache_implementation = "static" and
model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)). A logits
processor stamps the time after each generated token (after a device sync), so one generate
gives the prefill time and every decode step's time.

  python scripts/peers/hf_bench.py --modes eager,static --batch-sizes 1,8,64 --out OUT/hf.md
  python scripts/peers/hf_bench.py --self-test     # tiny shape on the CPU: the code path, no figures
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_common as pc  # noqa: E402


def build_model(torch, transformers, cfg_dict, device):
    """Random bf16 weights made directly on the device by HF's own init (normal_ there: seconds)."""
    cfg = transformers.LlamaConfig(**{k: v for k, v in cfg_dict.items() if k not in ("architectures",)})
    t0 = time.perf_counter()
    with torch.device(device):
        try:
            model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        except TypeError:    # transformers 4: the keyword was torch_dtype
            model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16)
    model.eval()
    pc.sync(torch, device)
    n = sum(p.numel() for p in model.parameters())
    pc.log(f"random model: {n / 1e9:.2f} B parameters on {device} in {time.perf_counter() - t0:.1f} s")
    return model


class Stamps:
    """A logits processor that only records when each token's logits were ready."""

    def __init__(self, torch, device):
        self.torch, self.device, self.t = torch, device, []

    def __call__(self, input_ids, scores):
        pc.sync(self.torch, self.device)
        self.t.append(time.perf_counter())
        return scores


def timed_generate(torch, transformers, model, batch, prompt_len, new_tokens, vocab, device, gen):
    ids = torch.randint(0, vocab, (batch, prompt_len), device=device, generator=gen)
    stamps = Stamps(torch, device)
    pc.sync(torch, device)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False, pad_token_id=0,
                             logits_processor=transformers.LogitsProcessorList([stamps]))
    if out.shape[1] != prompt_len + new_tokens:
        raise RuntimeError(f"generate returned {out.shape[1] - prompt_len} tokens, wanted {new_tokens}")
    prefill = stamps.t[0] - t0
    steps = [b - a for a, b in zip(stamps.t, stamps.t[1:])]
    return prefill, steps


def run_mode(torch, transformers, model, mode, args, vocab, rep, gen):
    if mode == "static":
        # transformers 5's recipe: a static cache makes generate() compile the forward itself
        # (generation_config.compile_config, CUDA graphs). Wrapping model.forward in torch.compile by
        # hand as well, as transformers 4's docs showed, fails in 5.17 ("accessing tensor output of
        # CUDAGraphs that has been overwritten by a subsequent run", H100 run of session 3).
        model.generation_config.cache_implementation = "static"
    elif mode != "eager":
        sys.exit(f"error: unknown mode {mode} (eager, static)")
    warmups = 2 if mode == "static" else 1    # compile, then record the CUDA graphs
    for b in args.batch_sizes:
        t0 = time.perf_counter()
        for _ in range(warmups):
            timed_generate(torch, transformers, model, b, args.prompt_len, args.decode_steps + 1, vocab,
                           args.device, gen)
        pc.log(f"{mode} batch {b}: warm-up {time.perf_counter() - t0:.1f} s")
        _, steps = timed_generate(torch, transformers, model, b, args.prompt_len, args.decode_steps + 1, vocab,
                                  args.device, gen)
        rep.add_decode(mode, b, steps)
    for n in args.prefill_lens:
        for _ in range(warmups):
            timed_generate(torch, transformers, model, 1, n, 1, vocab, args.device, gen)
        rep.add_prefill(mode, n, [timed_generate(torch, transformers, model, 1, n, 1, vocab, args.device, gen)[0]
                                  for _ in range(3)])


def main():
    p = pc.parser(__doc__.splitlines()[0], "1,8,32,64,128,256")
    p.add_argument("--modes", default="eager,static", help="eager, static (compiled) or both")
    p.add_argument("--self-test", action="store_true", help="tiny shape on the CPU, to check the code path")
    args = p.parse_args()
    try:
        import torch
        import transformers
    except ImportError as e:
        sys.exit(f"error: {e} (needs torch and transformers)")
    cfg = pc.load_config(args.shape)
    modes = args.modes.split(",")
    if args.self_test:
        cfg.update(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, vocab_size=512, bos_token_id=1, eos_token_id=2)
        args.device, args.batch_sizes, args.prompt_len, args.decode_steps, args.prefill_lens = "cpu", [1, 3], 16, 4, [32]
    pc.require_device(torch, args.device)
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    model = build_model(torch, transformers, cfg, args.device)
    shape = f"{args.shape.name} shape ({cfg['num_hidden_layers']} layers, hidden {cfg['hidden_size']}, " \
            f"{cfg['num_attention_heads']}/{cfg['num_key_value_heads']} heads, vocab {cfg['vocab_size']}), random bf16"
    rep = pc.Report("HF transformers", f"transformers {transformers.__version__}, torch {torch.__version__}",
                    torch, args.device, args, shape)
    rep.notes.append("eager: generate() with the default dynamic cache; static: generation_config.cache_implementation"
                     "='static', which makes generate() compile the forward (its compile_config: CUDA graphs)")
    for mode in modes:
        run_mode(torch, transformers, model, mode, args, cfg["vocab_size"], rep, gen)
    rep.write()


if __name__ == "__main__":
    main()
