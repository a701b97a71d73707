#!/usr/bin/env bash
# On the GPU machine (repo root, after `source .device/env.sh`; no Maven there): runs
# jlight-cuda's tests, the gpu-tagged ones included, with the JUnit console launcher, then the
# CUDA micro-benchmark. Everything it writes goes to $OUT (test report tree, JUnit XML, bench
# table). Pack first, here: bash scripts/pack_gpu_run.sh
#   usage: bash scripts/device_gpu_tests.sh [tests|bench|all] [extra console-launcher args]
set -uo pipefail
what=${1:-all}
shift || true
run=.device/gpu-run
OUT=${OUT:-/tmp/jlight-out}
mkdir -p "$OUT"
[[ -d "$run/lib" ]] || { echo "device_gpu_tests: $run missing: run scripts/pack_gpu_run.sh before the device call" >&2; exit 2; }
cp=$(ls "$run"/lib/*.jar | tr '\n' ':')
flags=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m)
(nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv || true) > "$OUT/nvidia-smi.txt" 2>&1
cat "$OUT/nvidia-smi.txt"
status=0
if [[ "$what" == all || "$what" == tests ]]; then
  # syncLaunches: each launch is waited for, so an asynchronous fault names its kernel and shape
  java "${flags[@]}" -Xmx24g -Djlight.cuda.syncLaunches=true \
    -jar "$run"/junit-platform-console-standalone-*.jar execute \
    --class-path "$cp" --select-package dev.jlight.cuda --details=tree --disable-banner --disable-ansi-colors \
    --reports-dir "$OUT/junit" "$@" 2>&1 | tee "$OUT/gpu-tests.txt"
  status=${PIPESTATUS[0]}
  echo "device_gpu_tests: tests exit code $status"
fi
if [[ "$what" == all || "$what" == bench ]]; then
  java "${flags[@]}" -Xmx8g -cp "$cp" dev.jlight.cuda.bench.CudaMicroBench 50 2>&1 | tee "$OUT/bench.txt"
  b=${PIPESTATUS[0]}
  echo "device_gpu_tests: bench exit code $b"
  (( status == 0 )) && status=$b
fi
exit "$status"
