"""Shared by the peer benchmarks: arguments, the Llama-3.1-8B shape, timing, and the report.

Every peer measures what dev.jlight.cuda.bench.LlamaDecodeBench measures, so the tables line up:
decode = a context of --prompt-len tokens, then --decode-steps single-token steps at each batch
size, reported as the median step time of the later half of the steps (ms/step) and batch /
median (tok/s); prefill = one sequence of each --prefill-lens length, median of 3 after a warm-up.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHAPE = ROOT / "models" / "shapes" / "llama-3.1-8b"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ints(s):
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}")


def parser(description, default_batches):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--shape", type=Path, default=DEFAULT_SHAPE, help="folder with the HF config.json")
    p.add_argument("--batch-sizes", type=ints, default=ints(default_batches))
    p.add_argument("--prompt-len", type=int, default=512)
    p.add_argument("--decode-steps", type=int, default=128)
    p.add_argument("--prefill-lens", type=ints, default=ints("512,4096"))
    p.add_argument("--device", default="cuda")
    p.add_argument("--out", type=Path, help="write the Markdown report here (and .json beside it)")
    p.add_argument("--seed", type=int, default=0)
    return p


def load_config(shape: Path) -> dict:
    f = shape / "config.json"
    if not f.is_file():
        sys.exit(f"error: {f} not found (--shape)")
    return json.loads(f.read_text())


def require_device(torch, device):
    if device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("error: --device cuda but torch.cuda.is_available() is False (torch %s)" % torch.__version__)


def sync(torch, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def card(torch, device):
    if device.startswith("cuda"):
        p = torch.cuda.get_device_properties(0)
        return f"{p.name} ({p.total_memory / 2**30:.1f} GiB), CUDA {torch.version.cuda}"
    return f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def later_half_median(step_s):
    """Median of the later half of per-step seconds, in ms (LlamaDecodeBench's statistic)."""
    half = step_s[len(step_s) // 2:] or step_s
    return statistics.median(half) * 1e3


class Report:
    """Rows of one peer's run, written as Markdown (copied verbatim into docs/) and JSON."""

    def __init__(self, peer, version, torch, device, args, shape_note):
        self.peer = peer
        self.version = version
        self.card = card(torch, device)
        self.date = datetime.date.today().isoformat()
        self.command = " ".join([Path(sys.argv[0]).name] + sys.argv[1:])
        self.shape_note = shape_note
        self.args = args
        self.decode = []     # (mode, batch, ms/step, tok/s)
        self.prefill = []    # (mode, tokens, ms, tok/s)
        self.notes = []

    def add_decode(self, mode, batch, step_s):
        ms = later_half_median(step_s)
        self.decode.append((mode, batch, ms, batch / ms * 1e3))
        log(f"{self.peer} {mode} batch {batch}: {ms:.3f} ms/step, {batch / ms * 1e3:.0f} tok/s")
        self.save()

    def add_prefill(self, mode, tokens, times_s):
        ms = statistics.median(times_s) * 1e3
        self.prefill.append((mode, tokens, ms, tokens / ms * 1e3))
        log(f"{self.peer} {mode} prefill {tokens}: {ms:.2f} ms, {tokens / ms * 1e3:.0f} tok/s")
        self.save()

    def markdown(self):
        a = self.args
        lines = [f"### {self.peer} on {self.card}, {self.date}", "",
                 f"- peer: {self.version}",
                 f"- command: `{self.command}`",
                 f"- model: {self.shape_note}; context {a.prompt_len} then {a.decode_steps} decode steps; "
                 f"median of the later half of the steps; prefill median of 3 after a warm-up", ""]
        lines += ["| peer | mode | batch | ms/step | tok/s |", "|---|---|---:|---:|---:|"]
        lines += [f"| {self.peer} | {m} | {b} | {ms:.3f} | {t:.0f} |" for m, b, ms, t in self.decode]
        lines += ["", "| peer | mode | prefill tokens | ms | tok/s |", "|---|---|---:|---:|---:|"]
        lines += [f"| {self.peer} | {m} | {n} | {ms:.2f} | {t:.0f} |" for m, n, ms, t in self.prefill]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def save(self):
        """Written after every row, so a run stopped by its time limit still leaves what it measured."""
        if self.args.out:
            md = self.markdown()
            self.args.out.parent.mkdir(parents=True, exist_ok=True)
            self.args.out.write_text(md)
            self.args.out.with_suffix(".json").write_text(json.dumps({
                "peer": self.peer, "version": self.version, "card": self.card, "date": self.date,
                "command": self.command, "decode": self.decode, "prefill": self.prefill, "notes": self.notes},
                indent=1))

    def write(self):
        print(self.markdown())
        self.save()
        if self.args.out:
            log(f"report written to {self.args.out}")
