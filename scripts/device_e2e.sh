#!/usr/bin/env bash
# On the GPU machine (repo root, after `source .device/env.sh`; no Maven there): the `jlight`
# CLI end to end on the device with the demo model (models/jlight-demo):
#   1. `jlight generate --device cuda` (greedy, then seeded sampling), exit 0 and some text;
#   2. bad input on the device: too little memory for the KV cache -> exit 2 with a message;
#   3. `jlight serve --device cuda`, then with curl: /health, one completion, one streamed chat
#      (SSE chunks and [DONE]), 8 parallel completions (all 200), /metrics;
#   4. `jlight bench serve` against it (a short random-dataset run), result JSON kept;
#   5. the server stopped (SIGTERM to the pid this script started) and its log kept.
# JLIGHT_E2E_DEVICE=cpu runs the same checks on the CPU backend (a dry run of this script on a
# machine without a GPU; the pack is the same).
# Every check prints PASS/FAIL to $OUT/e2e-summary.txt; the exit status is 0 only if all pass.
# Pack first, here: bash scripts/pack_gpu_run.sh --with-server
#   run(command="source .device/env.sh && bash scripts/device_e2e.sh", carry=[".device"])
set -uo pipefail
run=.device/gpu-run
OUT=${OUT:-/tmp/jlight-out}
mkdir -p "$OUT"
summary=$OUT/e2e-summary.txt
: > "$summary"
model=${JLIGHT_E2E_MODEL:-models/jlight-demo}
device=${JLIGHT_E2E_DEVICE:-cuda}
# extra model flags, e.g. JLIGHT_E2E_MODEL_ARGS="--load-format dummy" when the device run leaves the
# demo model's trained weights behind (the 64 MiB transfer limit): the same path on random weights
read -r -a margs <<< "${JLIGHT_E2E_MODEL_ARGS:-}"
port=${JLIGHT_E2E_PORT:-18080}
key=e2e-key
status=0
log() { echo "$*" | tee -a "$summary"; }
check() {   # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then log "PASS $name"; else log "FAIL $name"; status=1; fi
}
log "jlight device e2e: commit $(cat .device/commit.txt 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
(nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv,noheader 2>&1 || true) \
  | tee -a "$summary"
source scripts/device_jlight_cli.sh
if ! jlight_cli; then
  log "device_e2e: $run/server-lib missing: run scripts/pack_gpu_run.sh --with-server before the device call"
  exit 2
fi
name=jlight-demo

# ---- 1. generate ----------------------------------------------------------------------------
timeout 120 "${jlight[@]}" generate --model "$model" "${margs[@]}" --device "$device" -p "Once upon a time" --max-tokens 48 --temperature 0 \
  > "$OUT/generate-greedy.txt" 2> "$OUT/generate-greedy.err"
rc=$?
check "generate --device $device greedy exits 0 (rc $rc)" test "$rc" -eq 0
check "generate greedy printed text" test -s "$OUT/generate-greedy.txt"
timeout 120 "${jlight[@]}" generate --model "$model" "${margs[@]}" --device "$device" -p "The little robot" --max-tokens 48 \
  --temperature 0.8 --top-k 40 --top-p 0.9 --seed 7 > "$OUT/generate-sampled.txt" 2> "$OUT/generate-sampled.err"
rc=$?
check "generate --device $device sampled exits 0 (rc $rc)" test "$rc" -eq 0
timeout 120 "${jlight[@]}" generate --model "$model" "${margs[@]}" --device "$device" -p "The little robot" --max-tokens 48 \
  --temperature 0.8 --top-k 40 --top-p 0.9 --seed 7 > "$OUT/generate-sampled-again.txt" 2>/dev/null
check "generate sampled printed text" test -s "$OUT/generate-sampled.txt"
check "generate seeded sampling is reproducible" cmp -s "$OUT/generate-sampled.txt" "$OUT/generate-sampled-again.txt"

# ---- 2. bad input on the device --------------------------------------------------------------
timeout 120 "${jlight[@]}" generate --model "$model" "${margs[@]}" --device "$device" -p "x" --kv-cache-memory 1KiB \
  > /dev/null 2> "$OUT/generate-small-kv.err"
rc=$?
check "too small KV cache exits 2 (rc $rc)" test "$rc" -eq 2
check "too small KV cache names the KV cache" grep -q "KV cache" "$OUT/generate-small-kv.err"
check "too small KV cache: no stack trace" bash -c "! grep -q $'\tat ' '$OUT/generate-small-kv.err'"

# ---- 3. serve ---------------------------------------------------------------------------------
base=http://127.0.0.1:$port
if curl -s -o /dev/null "$base/health" 2>/dev/null; then
  log "FAIL port $port already answers: another server would take these requests (set JLIGHT_E2E_PORT)"
  exit 1
fi
"${jlight[@]}" serve --model "$model" "${margs[@]}" --served-model-name "$name" --device "$device" --host 127.0.0.1 --port "$port" --api-key "$key" \
  > "$OUT/serve.log" 2>&1 &
server=$!
up=false
for _ in $(seq 1 120); do
  if curl -sf "$base/health" > /dev/null 2>&1; then up=true; break; fi
  kill -0 "$server" 2>/dev/null || break
  sleep 1
done
check "serve --device $device answers /health" $up
auth=(-H "Authorization: Bearer $key" -H "Content-Type: application/json")
if $up; then
  curl -s "${auth[@]}" "$base/v1/completions" \
    -d '{"model":"'"$name"'","prompt":"Once upon a time","max_tokens":32,"temperature":0}' \
    > "$OUT/completion.json"
  check "completion has text" python3 -c "import json,sys; d=json.load(open('$OUT/completion.json')); \
sys.exit(0 if d['choices'][0]['text'] and d['usage']['completion_tokens']>0 else 1)"
  curl -sN "${auth[@]}" "$base/v1/chat/completions" \
    -d '{"model":"'"$name"'","messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":32,"stream":true,"temperature":0.7,"seed":3}' \
    > "$OUT/chat-stream.txt"
  check "streamed chat sends content chunks" grep -q '"content"' "$OUT/chat-stream.txt"
  check "streamed chat ends with [DONE]" grep -q 'data: \[DONE\]' "$OUT/chat-stream.txt"
  pids=()
  for i in $(seq 1 8); do
    curl -s -o "$OUT/parallel-$i.json" -w '%{http_code}\n' "${auth[@]}" "$base/v1/completions" \
      -d "{\"model\":\"$name\",\"prompt\":\"Story number $i:\",\"max_tokens\":40,\"temperature\":0.$i,\"seed\":$i}" \
      > "$OUT/parallel-$i.code" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  ok=0
  for i in $(seq 1 8); do
    [[ "$(cat "$OUT/parallel-$i.code")" == 200 ]] && grep -q '"text"' "$OUT/parallel-$i.json" && ok=$((ok + 1))
  done
  check "8 parallel completions answered 200 with text ($ok of 8)" test "$ok" -eq 8
  # ---- 4. bench serve -----------------------------------------------------------------------
  timeout 180 "${jlight[@]}" bench serve --base-url "$base" --model "$name" --api-key "$key" --dataset random \
    --num-prompts 64 --random-input-len 64 --random-output-len 32 --max-concurrency 16 --ignore-eos \
    --tokenizer "$model" --result-dir "$OUT/bench-serve" --no-plot > "$OUT/bench-serve.txt" 2>&1
  rc=$?
  check "bench serve exits 0 (rc $rc)" test "$rc" -eq 0
  check "bench serve completed requests" grep -qi "successful requests" "$OUT/bench-serve.txt"
  curl -s "${auth[@]}" "$base/metrics" > "$OUT/metrics.txt"
fi
# ---- 5. stop ----------------------------------------------------------------------------------
kill -TERM "$server" 2>/dev/null
for _ in $(seq 1 20); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
kill -0 "$server" 2>/dev/null && { log "server $server did not stop on SIGTERM: killing it"; kill -KILL "$server"; status=1; }
wait "$server" 2>/dev/null
check "server log has no internal error" bash -c "! grep -qi 'internal error\|Exception in thread' '$OUT/serve.log'"
log "device_e2e: status $status"
exit "$status"
