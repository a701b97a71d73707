#!/usr/bin/env python3
"""Side by side: vLLM's benchmark_serving.py and `jlight bench serve` against the same server.

Reads OUT/vllm-client-RATE.json, OUT/jlight-bench-RATE.json and the server's own token counts
around each run, OUT/server-*.json (all written by vllm_client_check.sh), and prints a Markdown
report. Exit status 1 when the counts disagree:
- request count or failures;
- the server's generated tokens for either client's run other than (num_prompts + 1) x output_len
  (ignore_eos; + 1 for the client's initial single-prompt test);
- `jlight bench serve`'s output tokens other than num_prompts x output_len (it reads the server's
  usage; vLLM v0.6's client re-tokenizes the streamed text instead, which merges tokens, so its
  count is lower; the report shows our texts re-tokenized the same way beside it);
- input tokens more than 5 % apart (vLLM v0.6's random dataset counts the ids it decoded, we count
  the text's own encoding; decode + encode of random ids is not the identity).
Latencies are printed with their ratio and are not gated: the two clients run one after the other
on a shared CPU.
"""
import json
import sys
from pathlib import Path

ROWS = [
    ("completed", "requests completed", "{:d}"),
    ("total_input_tokens", "total input tokens", "{:d}"),
    ("total_output_tokens", "total output tokens", "{:d}"),
    ("duration", "duration (s)", "{:.2f}"),
    ("request_throughput", "request throughput (req/s)", "{:.2f}"),
    ("output_throughput", "output throughput (tok/s)", "{:.1f}"),
    ("mean_ttft_ms", "TTFT mean (ms)", "{:.1f}"),
    ("median_ttft_ms", "TTFT median (ms)", "{:.1f}"),
    ("p95_ttft_ms", "TTFT P95 (ms)", "{:.1f}"),
    ("mean_tpot_ms", "TPOT mean (ms)", "{:.2f}"),
    ("p95_tpot_ms", "TPOT P95 (ms)", "{:.2f}"),
    ("mean_itl_ms", "ITL mean (ms)", "{:.2f}"),
    ("p95_itl_ms", "ITL P95 (ms)", "{:.2f}"),
    ("mean_e2el_ms", "E2E latency mean (ms)", "{:.1f}"),
    ("p95_e2el_ms", "E2E latency P95 (ms)", "{:.1f}"),
]


def retokenized(tokenizer, texts):
    return sum(len(tokenizer(t, add_special_tokens=False).input_ids) for t in texts)


def main(out: Path, model: str, num: int, out_len: int, rates: list[str]) -> int:
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model)
    problems = []
    print("# vLLM's benchmark_serving.py vs `jlight bench serve`, same server, same settings\n")
    info = out / "run-info.txt"
    if info.exists():
        print("```\n" + info.read_text().strip() + "\n```\n")
    for rate in rates:
        v = json.loads((out / f"vllm-client-{rate}.json").read_text())
        j = json.loads((out / f"jlight-bench-{rate}.json").read_text())
        print(f"## request rate {rate}\n")
        print("| metric | vLLM client | jlight bench serve | jlight / vLLM |")
        print("|---|---:|---:|---:|")
        for key, name, fmt in ROWS:
            a, b = v.get(key), j.get(key)
            if a is None or b is None:
                print(f"| {name} | {a} | {b} | |")
                continue
            ratio = f"{b / a:.2f}" if a else ""
            print(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {ratio} |")
        sv = json.loads((out / f"server-vllm-client-{rate}.json").read_text())
        sj = json.loads((out / f"server-jlight-bench-{rate}.json").read_text())
        print(f"| server: generated tokens during the run (+1 test request) | {sv['generation_tokens']} | "
              f"{sj['generation_tokens']} | |")
        print(f"| server: prompt tokens during the run (+1 test request) | {sv['prompt_tokens']} | "
              f"{sj['prompt_tokens']} | |")
        print(f"| machine load average (1 min) before -> after the run | {sv.get('load1', '')} | "
              f"{sj.get('load1', '')} | |")
        if "generated_texts" in v and "generated_texts" in j:
            print(f"| streamed text re-tokenized (vLLM v0.6's output count) | {retokenized(tok, v['generated_texts'])} | "
                  f"{retokenized(tok, j['generated_texts'])} | |")
        print()
        want = (num + 1) * out_len
        for who, d in (("vLLM client", sv), ("jlight bench serve", sj)):
            if d["generation_tokens"] != want:
                problems.append(f"rate {rate}: server generated {d['generation_tokens']} tokens in the {who} run, "
                                f"expected {want}")
        if j["total_output_tokens"] != num * out_len:
            problems.append(f"rate {rate}: jlight bench serve counted {j['total_output_tokens']} output tokens, "
                            f"expected {num * out_len}")
        if v["completed"] != j["completed"] or j["completed"] != num:
            problems.append(f"rate {rate}: completed {v['completed']} vs {j['completed']}")
        if j.get("failed", 0):
            problems.append(f"rate {rate}: jlight bench serve saw {j['failed']} failures")
        if abs(v["total_input_tokens"] - j["total_input_tokens"]) > 0.05 * v["total_input_tokens"]:
            problems.append(f"rate {rate}: input tokens {v['total_input_tokens']} vs {j['total_input_tokens']}")
    if problems:
        print("**DISAGREE:** " + "; ".join(problems))
        return 1
    print("**Agree:** same request count, no failures; the server generated exactly (prompts + 1) x output_len "
          "tokens for each client, and `jlight bench serve` reports prompts x output_len; vLLM v0.6's lower output "
          "count is its re-tokenization of the streamed text (same shortfall when our texts are re-tokenized); "
          "input token counts within 5 %; latencies side by side above.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit("usage: vllm_client_compare.py OUT_DIR MODEL_DIR NUM_PROMPTS OUTPUT_LEN RATE...")
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]))
