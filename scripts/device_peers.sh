#!/usr/bin/env bash
# Peer baselines on the device (one GPU), for docs/benchmarks.md beside LlamaDecodeBench:
#
#   scripts/device_peers.sh hf-eager|hf-static|gptfast|llamacpp-build|llamacpp|all
#
# Writes $OUT/peers/<peer>.md (+ .json, logs): Markdown with card, date, peer version and command,
# ready to copy into docs/results/<date>-peers/ and docs/benchmarks.md. Each step runs under its
# own time limit (LIMIT_S, default 570 s, below the device tool's 600 s a call), so run one step
# per call; the reports are rewritten after every measured row, so a step cut short keeps what it
# measured. llamacpp needs .device/peers/llama-cpp-src.tar.xz (scripts/peers/pack_llama_cpp.sh;
# carry .device/peers); its build and 16 GB model stay in .device/llama-peer-work between calls
# while the machine is warm. Batch lists: HF_BATCHES (eager, default 1,8,32,64,128,256),
# HF_STATIC_BATCHES (default 1,8,64), GPTFAST_BATCHES (default 1,8,64), LLAMA_BATCHES (default
# 1,8,32,64,128,256).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:?usage: scripts/device_peers.sh hf-eager|hf-static|gptfast|llamacpp-build|llamacpp|all}"
out="${OUT:-/tmp/peers-out}/peers"
limit="${LIMIT_S:-570}"
mkdir -p "$out"
py="${PYTHON:-python3}"
say() { echo "[$(date +%H:%M:%S)] device_peers: $*" >&2; }

check_python() {
  "$py" -c 'import torch, transformers; assert torch.cuda.is_available(), "no CUDA device"' 2>"$out/python-check.log" \
    || { cat "$out/python-check.log" >&2; echo "error: $py needs torch with CUDA and transformers" >&2; exit 2; }
}

step() {   # name, command...: run under the limit, log to $out/name.log, record the outcome
  local name="$1"; shift
  say "$name: $* (limit ${limit} s)"
  local t0 rc=0
  t0=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$limit" "$@" > >(tee "$out/$name.log") 2>&1 || rc=$?
  local msg="$name: exit $rc after $(( $(date +%s) - t0 )) s"
  [ "$rc" = 124 ] && msg="$msg (time limit: the report holds the rows measured before it)"
  say "$msg"
  echo "- $(date -u +%FT%TZ) $msg; command: \`$*\`" >> "$out/README.md"
  return 0
}

run() {
  case "$1" in
    hf-eager)
      check_python
      step hf-eager "$py" "$root/scripts/peers/hf_bench.py" --modes eager \
        --batch-sizes "${HF_BATCHES:-1,8,32,64,128,256}" --out "$out/hf-eager.md" ;;
    hf-static)
      check_python
      step hf-static "$py" "$root/scripts/peers/hf_bench.py" --modes static \
        --batch-sizes "${HF_STATIC_BATCHES:-1,8,64}" --out "$out/hf-static.md" ;;
    gptfast)
      check_python
      step gptfast "$py" "$root/scripts/peers/gptfast_bench.py" \
        --batch-sizes "${GPTFAST_BATCHES:-1,8,64}" --out "$out/gptfast.md" ;;
    llamacpp-build)   # build + GGUF only: the first call's ~5-7 min
      WORK="${WORK:-$root/.device/llama-peer-work}" PREPARE_ONLY=1 \
        step llamacpp-build bash "$root/scripts/peers/llama_cpp_bench.sh" "$out" ;;
    llamacpp)
      WORK="${WORK:-$root/.device/llama-peer-work}" BATCHES="${LLAMA_BATCHES:-1,8,32,64,128,256}" \
        step llamacpp bash "$root/scripts/peers/llama_cpp_bench.sh" "$out" ;;
    all)
      for s in hf-eager hf-static gptfast llamacpp; do run "$s"; done ;;
    *)
      echo "error: unknown step $1 (hf-eager, hf-static, gptfast, llamacpp-build, llamacpp, all)" >&2; exit 2 ;;
  esac
}
run "$what"
say "reports in $out: $(cd "$out" && ls *.md 2>/dev/null | tr '\n' ' ')"
