#!/usr/bin/env bash
# On the GPU machine, in ONE device call (<= ~520 s): the online serving benchmark of issue 7 at the
# Llama-3.1-8B shape (random bf16 weights), `jlight serve --device cuda --load-format dummy` and
# llama.cpp's `llama-server` (CUDA) measured by the same client (`jlight bench serve`) on the same
# requests (sharegpt-like, fixed seed, prompts sent as Llama-3 token ids, ignore_eos) at the same
# offered rates:
#   1. a model folder for the shape: models/shapes/llama-3.1-8b/config.json + the Llama-3
#      tokenizer from .device/serve-bench/llama3-tokenizer.tar.xz (scripts/pack_serve_bench.sh);
#   2. jlight serve on it, /health, a warm-up, the sweep, stopped;
#   3. llama-server on the random GGUF that `scripts/device_peers.sh llamacpp-build` left in WORK,
#      /health, the same warm-up and sweep, stopped;
#   4. $OUT/serve-bench.md (card, commit, date, commands, the table of scripts/serve_bench_table.py)
#      and $OUT/serve-bench.tgz (per-rate JSON, PNG plots, bench and server logs).
# Each server runs under its own deadline (JLIGHT_LIMIT_S, LLAMA_LIMIT_S): a hang or a slow server
# stops at its deadline (the rates it finished keep their JSON) and the other still runs.
#
# Before, on this side: bash scripts/pack_serve_bench.sh. Then, back to back (the machine keeps
# /tmp only while warm):
#   run(command="WORK=/tmp/lcw bash scripts/device_peers.sh llamacpp-build", carry=[".device/peers"])
#   run(command="source .device/env.sh && WORK=/tmp/lcw bash scripts/device_serve_bench.sh", carry=[".device"])
#
# Env (defaults in brackets): SERVE_PROMPTS [200], SERVE_RATES [4,8,16,inf], SERVE_SEED [0],
# SERVE_WARMUP_PROMPTS [32], SERVE_SERVERS [jlight,llamacpp], SERVE_DATASET [sharegpt-like],
# SERVE_DATASET_ARGS [none; e.g. --random-input-len 64 for SERVE_DATASET=random], JLIGHT_DEVICE [cuda],
# JLIGHT_LOAD_FORMAT [dummy], JLIGHT_MODEL_DIR [the folder of step 1], JLIGHT_ARGS [extra serve
# flags], SERVE_TOKENIZER_DIR [the folder of step 1: the tokenizer that makes the prompts for both
# servers], LLAMA_SERVER [WORK/build/bin/llama-server], LLAMA_GGUF
# [WORK/llama-3.1-8b-random-bf16.gguf], LLAMA_NGL [99], LLAMA_NP [256], LLAMA_CTX [131072],
# LLAMA_ARGS [extra flags], JLIGHT_LIMIT_S / LLAMA_LIMIT_S [250 each], MAX_MODEL_LEN [4096; empty:
# the config's] (jlight's --max-model-len).
# A CPU dry run (no GPU): JLIGHT_DEVICE=cpu JLIGHT_MODEL_DIR=models/jlight-demo JLIGHT_LOAD_FORMAT=auto
# LLAMA_NGL=0 with a small GGUF (see scripts/README.md).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/serve-bench-out}
work=${WORK:-/tmp/lcw}
res=${SERVE_RES_DIR:-/tmp/serve-bench}
prompts=${SERVE_PROMPTS:-200}
rates=${SERVE_RATES:-4,8,16,inf}
seed=${SERVE_SEED:-0}
warmup=${SERVE_WARMUP_PROMPTS:-32}
servers=${SERVE_SERVERS:-jlight,llamacpp}
max_len=${MAX_MODEL_LEN-4096}   # set empty: the model config's own limit
dataset=${SERVE_DATASET:-sharegpt-like}
read -r -a dataset_args <<< "${SERVE_DATASET_ARGS:-}"
name=llama-3.1-8b
say() { echo "[$(date +%H:%M:%S)] serve-bench: $*" | tee -a "$res/serve-bench.log" >&2; }
mkdir -p "$OUT"
rm -rf "$res" && mkdir -p "$res"
t_start=$(date +%s)

card=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
[[ -n "$card" ]] || card="no GPU visible ($(nproc) CPU cores: a dry run)"
commit=$(cat .device/commit.txt 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)
say "card: $card; commit $commit"

# ---- 1. the model folder ------------------------------------------------------------------------
model_dir=$res/model/$name
if [[ -z "${JLIGHT_MODEL_DIR:-}" || -z "${SERVE_TOKENIZER_DIR:-}" ]]; then
  tok_tar=.device/serve-bench/llama3-tokenizer.tar.xz
  if [[ ! -f "$tok_tar" ]]; then
    say "no $tok_tar: run scripts/pack_serve_bench.sh here and carry .device"
    exit 2
  fi
  mkdir -p "$model_dir"
  cp models/shapes/$name/config.json "$model_dir/"
  tar -xJf "$tok_tar" -C "$model_dir"
  [[ -f "$model_dir/tokenizer.json" ]] || { say "$tok_tar holds no tokenizer.json"; exit 2; }
fi
jlight_model=${JLIGHT_MODEL_DIR:-$model_dir}
tokenizer_dir=${SERVE_TOKENIZER_DIR:-$model_dir}

source scripts/device_jlight_cli.sh
if ! jlight_cli; then
  say ".device/gpu-run/server-lib missing: run scripts/pack_serve_bench.sh (pack_gpu_run.sh --with-server) first"
  exit 2
fi
# the same requests for both servers: token ids of the Llama-3 tokenizer (so the two servers'
# own tokenizers cannot make the prompts differ), every request runs to its drawn output length
bench_args=(bench serve --model "$name" --dataset "$dataset" "${dataset_args[@]}" --tokenizer "$tokenizer_dir"
            --prompt-token-ids --ignore-eos)
echo "# commands of this run (ports and paths as on the device)" > "$res/commands.txt"

# ---- helpers ------------------------------------------------------------------------------------
wait_health() {   # url pid deadline: 0 once url/health answers 200, 1 if pid died or time ran out
  while (( $(date +%s) < $3 )); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1/health" 2>/dev/null)" == 200 ]]; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

stop_server() {   # pid label: SIGTERM, then SIGKILL after 20 s; returns when the process is gone
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$1" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$1" 2>/dev/null; then say "$2 ($1) did not stop on SIGTERM: killing it"; kill -KILL "$1"; fi
  wait "$1" 2>/dev/null
  say "$2 stopped"
}

bench_server() {   # label url server-pid limit-seconds: warm-up + sweep against a started server
  local label=$1 url=$2 pid=$3 deadline=$(( $(date +%s) + $4 ))
  if ! wait_health "$url" "$pid" "$deadline"; then
    say "$label: no /health 200 before its deadline or the server exited (log: $label-server.log)"
    return 1
  fi
  say "$label: up after $(( $(date +%s) - t0 )) s; warm-up ($warmup prompts at rate inf)"
  local left=$(( deadline - $(date +%s) ))
  (( left > 5 )) || { say "$label: no time left for the warm-up"; return 1; }
  timeout --kill-after=5 "$left" "${jlight[@]}" "${bench_args[@]}" --base-url "$url" --num-prompts "$warmup" \
    --request-rate inf --seed $(( seed + 1 )) --no-plot > "$res/$label-warmup.txt" 2>&1 \
    || say "$label: warm-up exited $? (see $label-warmup.txt)"
  local cmd=("${jlight[@]}" "${bench_args[@]}" --base-url "$url" --num-prompts "$prompts" --request-rate "$rates"
             --seed "$seed" --result-dir "$res/$label" --skip-initial-test)
  echo "${cmd[*]}" | sed "s#-cp [^ ]* #-cp JARS #; s#$res/##g; s#$root#.#g" >> "$res/commands.txt"
  left=$(( deadline - $(date +%s) ))
  (( left > 5 )) || { say "$label: no time left for the sweep"; return 1; }
  say "$label: sweep, rates $rates, $prompts prompts, seed $seed (at most $left s)"
  local rc=0
  timeout --kill-after=5 "$left" "${cmd[@]}" > "$res/$label-bench.txt" 2>&1 || rc=$?
  if (( rc == 124 || rc == 137 )); then
    say "$label: sweep stopped at its deadline: the rates finished before it keep their JSON"
  elif (( rc != 0 )); then
    say "$label: bench exited $rc (see $label-bench.txt)"
  fi
  grep -A12 '^Sweep' "$res/$label-bench.txt" >&2 || tail -5 "$res/$label-bench.txt" >&2
}

serve_step() {   # label port limit-seconds command...: start the server, bench it, stop it
  local label=$1 port=$2 limit=$3
  shift 3
  echo "${*}" | sed "s#-cp [^ ]* #-cp JARS #; s#$work/##g; s#$res/##g; s#$root#.#g" >> "$res/commands.txt"
  say "$label: starting (limit $limit s)"
  t0=$(date +%s)
  "$@" > "$res/$label-server.log" 2>&1 &
  local pid=$!
  bench_server "$label" "http://127.0.0.1:$port" "$pid" "$limit"
  stop_server "$pid" "$label server"
}

# ---- 2. jlight serve ----------------------------------------------------------------------------
jlight_step() {
  local extra=()
  read -r -a extra <<< "${JLIGHT_ARGS:-}"
  [[ -z "$max_len" ]] || extra=(--max-model-len "$max_len" "${extra[@]}")
  serve_step jlight 18090 "${JLIGHT_LIMIT_S:-250}" "${jlight[@]}" serve --model "$jlight_model" --served-model-name "$name" \
    --device "${JLIGHT_DEVICE:-cuda}" --load-format "${JLIGHT_LOAD_FORMAT:-dummy}" --host 127.0.0.1 --port 18090 "${extra[@]}"
}

# ---- 3. llama-server ----------------------------------------------------------------------------
# -ngl 99: every layer on the GPU; -fa on: flash attention (llama.cpp's fastest CUDA attention);
# -np LLAMA_NP (256 = jlight's --max-num-seqs default and llama.cpp's LLAMA_MAX_SEQ): as many
# parallel slots as jlight may batch, so both servers can run every request at once; --kv-unified:
# one KV pool of -c LLAMA_CTX cells shared by the slots (without it each slot gets only
# -c / -np cells, 512 here, too few for the longest prompts); continuous batching is on by default
# (-cb). 131072 cells (16 GiB of f16 KV) hold all 200 sharegpt-like requests at once (~76k tokens).
llamacpp_step() {
  local bin=${LLAMA_SERVER:-$work/build/bin/llama-server} gguf=${LLAMA_GGUF:-$work/llama-3.1-8b-random-bf16.gguf}
  if [[ ! -x "$bin" || ! -f "$gguf" ]]; then
    say "llamacpp: $bin or $gguf missing: run 'WORK=$work bash scripts/device_peers.sh llamacpp-build' first, on this warm machine"
    return 1
  fi
  local extra=()
  read -r -a extra <<< "${LLAMA_ARGS:-}"
  serve_step llamacpp 18091 "${LLAMA_LIMIT_S:-250}" "$bin" -m "$gguf" -ngl "${LLAMA_NGL:-99}" -fa on \
    -np "${LLAMA_NP:-256}" --kv-unified -c "${LLAMA_CTX:-131072}" --host 127.0.0.1 --port 18091 --no-webui "${extra[@]}"
}

for s in ${servers//,/ }; do
  case "$s" in
    jlight) jlight_step ;;
    llamacpp) llamacpp_step ;;
    *) say "unknown server $s in SERVE_SERVERS (jlight, llamacpp)" ;;
  esac
done

# ---- 4. report ----------------------------------------------------------------------------------
version="llama.cpp: $(cat "$work/src/llama.cpp/NODE_LLAMA_CPP_SOURCE" 2>/dev/null || echo 'source version unknown') (node-llama-cpp version, llama.cpp commit)"
tables=()
for s in ${servers//,/ }; do tables+=("$s=$res/$s"); done
{
  echo "### Online serving: JLight vs llama.cpp's llama-server, $(date -u +%F)"
  echo
  echo "- card: $card"
  echo "- JLight commit: $commit; $version"
  if [[ ",$servers," == *,jlight,* ]]; then
    if [[ "$jlight_model" == "$model_dir" ]]; then
      echo "- jlight model: config.json of models/shapes/$name + the Llama-3 tokenizer, --load-format ${JLIGHT_LOAD_FORMAT:-dummy} (random bf16)"
    else
      echo "- jlight model: $jlight_model, --load-format ${JLIGHT_LOAD_FORMAT:-dummy}"
    fi
  fi
  if [[ ",$servers," == *,llamacpp,* ]]; then
    echo "- llama-server model: $(basename "${LLAMA_GGUF:-$name-random-bf16.gguf}") (scripts/peers/make_random_gguf.py, random bf16), -ngl ${LLAMA_NGL:-99}"
  fi
  [[ "$dataset" == sharegpt-like ]] && dataset="$dataset (log-normal lengths, mean ~202 in / ~179 out)"
  echo "- client: \`jlight bench serve\` (vLLM benchmark_serving semantics), dataset $dataset ${dataset_args[*]},"
  echo "  $prompts prompts, seed $seed, prompts sent as token ids of the tokenizer in $(basename "$tokenizer_dir"),"
  echo "  ignore_eos, temperature 0, streamed; a $warmup-prompt warm-up at rate inf before each sweep (not in the table)"
  echo "- output tokens: the servers' usage.completion_tokens; TPOT excludes the first token; ITL = gaps between content chunks"
  echo
  python3 scripts/serve_bench_table.py "${tables[@]}"
  echo
  echo "Commands:"
  echo
  echo '```'
  cat "$res/commands.txt"
  echo '```'
} > "$OUT/serve-bench.md" 2> "$res/table.err" || say "table failed: $(cat "$res/table.err")"
cat "$OUT/serve-bench.md" >&2
say "done in $(( $(date +%s) - t_start )) s"
tar -czf "$OUT/serve-bench.tgz" -C "$res" --exclude=./model .
