#!/usr/bin/env bash
# vLLM's own benchmark client (benchmarks/benchmark_serving.py, a version that runs without vllm
# installed: v0.6.x to early v0.7) against a local `jlight serve` of the demo model on the CPU, then
# `jlight bench serve` with the same settings, and both outputs side by side with a comparison
# (scripts/vllm_client_compare.py). vLLM's source is not committed: pass the path of a checkout.
#
#   scripts/vllm_client_check.sh VLLM_CHECKOUT [OUT_DIR]
#
# VLLM_CHECKOUT: a folder with benchmarks/benchmark_serving.py and benchmarks/backend_request_func.py
#   (a git checkout, or a copy with a VLLM_COMMIT file naming the commit). vLLM 5b0ed839 of 2024-12-13
#   and earlier v0.6 work; from #11174 on, main() passes tokenizer_mode to the fallback
#   get_tokenizer, which does not take it, so those fail without vllm installed.
# OUT_DIR: default docs/results/<today>-vllm-client.
# PYTHON: a Python with aiohttp, numpy, tqdm, transformers, pillow, datasets (default: .assets/vllm-venv;
#   make it with: python3 -m venv .assets/vllm-venv && .assets/vllm-venv/bin/pip install
#   --index-url file:///opt/pypi/simple aiohttp numpy tqdm transformers pillow datasets).
# NUM_PROMPTS, INPUT_LEN, OUTPUT_LEN, RATES (space-separated, e.g. "inf 4"), PORT: the settings.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vllm="${1:?usage: scripts/vllm_client_check.sh VLLM_CHECKOUT [OUT_DIR]}"
out="${2:-$root/docs/results/$(date -u +%F)-vllm-client}"
py="${PYTHON:-$root/.assets/vllm-venv/bin/python}"
num="${NUM_PROMPTS:-32}"
in_len="${INPUT_LEN:-128}"
out_len="${OUTPUT_LEN:-32}"
rates="${RATES:-inf 4}"
port="${PORT:-8765}"
model="$root/models/jlight-demo"

bench="$vllm/benchmarks/benchmark_serving.py"
[ -f "$bench" ] && [ -f "$vllm/benchmarks/backend_request_func.py" ] \
  || { echo "error: $vllm has no benchmarks/benchmark_serving.py + backend_request_func.py" >&2; exit 2; }
[ -x "$py" ] || { echo "error: no Python at $py (set PYTHON; see the header of this script)" >&2; exit 2; }
"$py" -c 'import aiohttp, numpy, tqdm, transformers, PIL, datasets' 2>/dev/null \
  || { echo "error: $py lacks aiohttp/numpy/tqdm/transformers/pillow/datasets" >&2; exit 2; }
[ -d "$model" ] || { echo "error: $model missing" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"     # the vLLM client runs from its own folder
base="http://127.0.0.1:$port"

echo "== starting jlight serve on $base (log: $out/server.log)"
"$root/jlight" serve --model "$model" --served-model-name jlight-demo --host 127.0.0.1 --port "$port" \
  >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for i in $(seq 1 240); do
  curl -sf "$base/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "error: jlight serve exited; see $out/server.log" >&2; exit 1; }
  sleep 1
done
curl -sf "$base/health" >/dev/null || { echo "error: server not healthy after 240 s" >&2; exit 1; }

{
  echo "date: $(date -u +%FT%TZ)"
  echo "jlight commit: $(git -C "$root" rev-parse --short HEAD)"
  if [ -d "$vllm/.git" ]; then echo "vLLM client: vllm-project/vllm $(git -C "$vllm" rev-parse HEAD)";
  elif [ -f "$vllm/VLLM_COMMIT" ]; then echo "vLLM client: $(cat "$vllm/VLLM_COMMIT")";
  else echo "vLLM client: $vllm (version unknown: no .git, no VLLM_COMMIT file)"; fi
  echo "python: $("$py" --version 2>&1), transformers $("$py" -c 'import transformers; print(transformers.__version__)')"
  echo "hardware: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  echo "settings: random dataset, $num prompts, input $in_len, output $out_len, ignore_eos, seed 0, rates: $rates"
} > "$out/run-info.txt"
cat "$out/run-info.txt"

# The server's own token counters (Prometheus /metrics), read around each client's run: what the
# server generated, independent of how each client counts.
counter() { curl -sf "$base/metrics" | awk -v m="jlight:$1_total" 'index($1, m) == 1 {print $2}'; }
server_delta() {   # name: runs "$@" and writes the server's prompt/generation token deltas to $out/server-$name.json
  local name="$1"; shift
  local p0 g0 p1 g1 l0 l1
  p0=$(counter prompt_tokens); g0=$(counter generation_tokens); l0=$(cut -d' ' -f1 /proc/loadavg)
  "$@"
  p1=$(counter prompt_tokens); g1=$(counter generation_tokens); l1=$(cut -d' ' -f1 /proc/loadavg)
  # the machine's 1-minute load average before and after: other work on a shared machine skews latencies
  echo "{\"prompt_tokens\": $((p1 - p0)), \"generation_tokens\": $((g1 - g0)), \"load1\": \"$l0 -> $l1\"}" \
    > "$out/server-$name.json"
}
vllm_client() {
  (cd "$vllm/benchmarks" && OPENAI_API_KEY=none "$py" benchmark_serving.py --backend vllm --base-url "$base" \
      --endpoint /v1/completions --model jlight-demo --tokenizer "$model" --dataset-name random \
      --random-input-len "$in_len" --random-output-len "$out_len" --random-range-ratio 1.0 \
      --num-prompts "$num" --request-rate "$1" --seed 0 --ignore-eos --disable-tqdm \
      --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,95,99 \
      --save-result --result-dir "$out" --result-filename "vllm-client-$1.json") 2>&1 | tee "$out/vllm-client-$1.txt"
}
jlight_client() {
  "$root/jlight" bench serve --base-url "$base" --model jlight-demo --tokenizer "$model" --dataset random \
      --random-input-len "$in_len" --random-output-len "$out_len" --random-range-ratio 0 \
      --num-prompts "$num" --request-rate "$1" --seed 0 --ignore-eos --save-detailed \
      --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,95,99 \
      --result-dir "$out" --result-filename "jlight-bench-$1.json" --no-plot 2>&1 \
    | tr '\r' '\n' | grep -v ' requests done, ' | tee "$out/jlight-bench-$1.txt"
}

for rate in $rates; do
  # vLLM v0.6's random range ratio is the lower bound as a fraction (1.0 = fixed lengths); ours is
  # the half-width (0 = fixed lengths): both give every prompt input_len tokens and output_len tokens.
  echo "== vLLM benchmark_serving.py, rate $rate"
  server_delta "vllm-client-$rate" vllm_client "$rate"
  echo "== jlight bench serve, rate $rate"
  server_delta "jlight-bench-$rate" jlight_client "$rate"
done

# no machine paths in what gets committed: paths under the repository become relative to it
sed -i "s#$root/##g" "$out"/*.txt "$out"/*.json "$out"/*.log
"$py" "$root/scripts/vllm_client_compare.py" "$out" "$model" "$num" "$out_len" $rates | tee "$out/comparison.md"
