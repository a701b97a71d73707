#!/usr/bin/env python3
"""The Markdown tables of scripts/device_serve_bench.sh, from `jlight bench serve`'s per-rate JSON files.

One row per server and offered request rate (completed, duration, QPS, output tok/s, TTFT
mean/median/P95/P99, TPOT mean/P95, ITL mean/P95), then, for each rate both servers ran, the
ratios of the first server to the second (the baseline measured in the same run).

  python3 scripts/serve_bench_table.py NAME=DIR [NAME=DIR ...] > table.md

DIR holds the JSON files of one sweep (one per rate, as --result-dir writes them); a server whose
DIR has none (it failed or ran out of time) gets a row saying so.
"""
import json
import math
import sys
from pathlib import Path

COLUMNS = [   # header, JSON field, format
    ("completed", "completed", "{:d}"),
    ("failed", "failed", "{:d}"),
    ("duration s", "duration", "{:.1f}"),
    ("QPS", "request_throughput", "{:.2f}"),
    ("output tok/s", "output_throughput", "{:.0f}"),
    ("TTFT mean ms", "mean_ttft_ms", "{:.1f}"),
    ("TTFT median ms", "median_ttft_ms", "{:.1f}"),
    ("TTFT P95 ms", "p95_ttft_ms", "{:.1f}"),
    ("TTFT P99 ms", "p99_ttft_ms", "{:.1f}"),
    ("TPOT mean ms", "mean_tpot_ms", "{:.2f}"),
    ("TPOT P95 ms", "p95_tpot_ms", "{:.2f}"),
    ("ITL mean ms", "mean_itl_ms", "{:.2f}"),
    ("ITL P95 ms", "p95_itl_ms", "{:.2f}"),
]
RATIOS = [   # header, field, True when higher is better
    ("QPS", "request_throughput", True),
    ("output tok/s", "output_throughput", True),
    ("TTFT mean", "mean_ttft_ms", False),
    ("TTFT P95", "p95_ttft_ms", False),
    ("TPOT mean", "mean_tpot_ms", False),
    ("TPOT P95", "p95_tpot_ms", False),
]


def rate_key(rate):
    return math.inf if rate == "inf" else float(rate)


def load(directory):
    """{offered rate: result} of the JSON files in directory (the newest file wins for a rate)."""
    runs = {}
    for f in sorted(Path(directory).glob("*.json")):
        r = json.loads(f.read_text())
        if "request_rate" in r and "completed" in r:
            runs[rate_key(r["request_rate"])] = r
    return runs


def cell(result, field, fmt):
    v = result.get(field)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return fmt.format(int(v) if fmt == "{:d}" else v)


def rate_text(rate):
    return "inf" if math.isinf(rate) else f"{rate:g}"


def table(servers):
    lines = ["| server | offered req/s | " + " | ".join(h for h, _, _ in COLUMNS) + " |",
             "|---|---:|" + "---:|" * len(COLUMNS)]
    for name, runs in servers:
        if not runs:
            lines.append(f"| {name} | no result (see its log) |" + " |" * len(COLUMNS))
        for rate in sorted(runs):
            lines.append(f"| {name} | {rate_text(rate)} | "
                         + " | ".join(cell(runs[rate], f, fmt) for _, f, fmt in COLUMNS) + " |")
    return lines


def ratios(servers):
    (a, ra), (b, rb) = servers[0], servers[1]
    common = sorted(set(ra) & set(rb))
    if not common:
        return []
    lines = ["", f"Ratio {a} / {b} at each offered rate (above 1 is better for {a} on QPS and tok/s, "
             f"below 1 is better for {a} on TTFT and TPOT):", "",
             "| offered req/s | " + " | ".join(h for h, _, _ in RATIOS) + " |",
             "|---:|" + "---:|" * len(RATIOS)]
    for rate in common:
        cells = []
        for _, f, _ in RATIOS:
            x, y = ra[rate].get(f), rb[rate].get(f)
            cells.append("–" if not x or not y else f"{x / y:.2f}")
        lines.append(f"| {rate_text(rate)} | " + " | ".join(cells) + " |")
    return lines


def main(argv):
    if not argv or any("=" not in a for a in argv):
        sys.exit(__doc__)
    servers = []
    for a in argv:
        name, _, d = a.partition("=")
        servers.append((name, load(d) if Path(d).is_dir() else {}))
    lines = table(servers)
    if len(servers) >= 2:
        lines += ratios(servers)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
