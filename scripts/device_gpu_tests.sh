#!/usr/bin/env bash
# On the GPU machine (repo root, after `source .device/env.sh`; no Maven there), ONE command:
#   1. every gpu test of jlight-cuda (one JVM per test class, so that a kernel fault, which
#      poisons the CUDA context of its process, costs one class and not the rest);
#   2. the CUDA micro-benchmark (copy floor, GEMM, GEMV vs cuBLASLt, decode attention);
#   3. LlamaDecodeBench at the Llama-3.1-8B shape (random weights): memory floor, decode tok/s
#      at batch 1..256 eager and with CUDA graphs, prefill 512/4096, per-op breakdown; if it
#      fails, once more with the conservative settings (grouped attention, cuBLASLt only, no
#      graphs) into decode-bench-safe.md.
# Every step has a time limit (the whole run stays under 8 minutes), a failing step does not
# stop the next one, and everything goes to $OUT:
#   summary.txt         commit (from .device/commit.txt), nvidia-smi, each step's exit code and time
#   gpu-tests.txt       the test tree and the tests' own output (numbers: NMSE, tie notes, stats)
#   junit/TEST-gpu.xml  the JUnit XML reports of all test classes, in one <testsuites>
#   bench.txt           CudaMicroBench
#   decode-bench.md     LlamaDecodeBench's Markdown report (for docs/benchmarks.md)
#   decode-bench.txt    LlamaDecodeBench's full output (progress, breakdown tables, stack traces)
#   decode-bench-safe.md  only when the first bench run failed
# Pack first, here: bash scripts/pack_gpu_run.sh
#   usage: bash scripts/device_gpu_tests.sh [all|tests|bench|decode|families] [extra console-launcher args]
# Environment:
#   JLIGHT_TEST_SYNC=false   tests without -Djlight.cuda.syncLaunches (default true: every launch
#                            waited for, so a fault names its kernel; but that also serializes what
#                            programmatic dependent launch overlaps, so a PDL race needs =false)
#   JLIGHT_TEST_CLASSES=a,b  run only these test classes (a quick run between full ones)
#   JLIGHT_REGEN_GOLDEN=a,b  regenerate those golden models with scripts/make_golden.py (HF
#                            transformers here, in the background on CPU cores 8-15 while the other
#                            test classes run), put them into testdata/golden/models before
#                            CudaGoldenTest, which then runs last, and keep them in $OUT/golden.tgz
set -uo pipefail
what=${1:-all}
shift || true
run=.device/gpu-run
OUT=${OUT:-/tmp/jlight-out}
mkdir -p "$OUT/junit"
summary=$OUT/summary.txt
: > "$summary"
t_start=$SECONDS
budget=${JLIGHT_DEVICE_BUDGET:-450}   # seconds for the whole script
log() { echo "$*" | tee -a "$summary"; }
left() { echo $(( budget - (SECONDS - t_start) )); }
commit=$(cat .device/commit.txt 2>/dev/null || echo unknown)
log "jlight device run: commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ), what=$what, budget ${budget}s"
(nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1 \
  || echo "nvidia-smi failed") | tee -a "$summary"
if [[ ! -d "$run/lib" ]]; then
  log "device_gpu_tests: $run missing: run scripts/pack_gpu_run.sh before the device call"
  exit 2
fi
cp=$(ls "$run"/lib/*.jar | tr '\n' ':')
flags=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m -Djlight.repo.root="$PWD")
# the demo model's trained weights may be left out of the working tree (64 MiB transfer limit):
# then the engine test runs the demo's config on random weights, and says so
if ! ls models/jlight-demo/*.safetensors >/dev/null 2>&1; then
  flags+=(-Djlight.test.demoWeights=dummy)
  log "demo model weights absent: CudaEngineTest uses the demo config with random weights"
fi
status=0

# runs "$@" under a time limit of $1 seconds, logs exit code and time under the name $2
step() {
  local limit=$1 name=$2
  shift 2
  if (( limit < 15 )); then
    log "SKIPPED $name: ${limit}s of the budget left"
    status=1
    return 1
  fi
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@"
  local rc=$?
  local note=""
  (( rc == 124 || rc == 137 )) && note=" (killed at its ${limit}s limit)"
  log "$(printf '%-40s exit %3d in %4ds%s' "$name" "$rc" $(( SECONDS - t0 )) "$note")"
  (( rc != 0 )) && status=1
  return $rc
}

if [[ "$what" == all || "$what" == tests ]]; then
  : > "$OUT/gpu-tests.txt"
  rm -rf "$OUT/junit"/*
  # the new kernels' and paths' tests first, the suite that passed on the first device run last
  classes=(CudaAvailabilityTest DeviceArenaTest CudaAttentionTest CudaGoldenTest CudaGraphRunnerTest
           CudaEngineTest CudaLlamaModelTest CudaOpsTest)
  # test classes added later run too (the list pack_gpu_run.sh wrote from the test jar)
  if [[ -f .device/test-classes.txt ]]; then
    while read -r c; do
      [[ " ${classes[*]} " == *" $c "* ]] || classes+=("$c")
    done < .device/test-classes.txt
  fi
  if [[ -n "${JLIGHT_TEST_CLASSES:-}" ]]; then   # a quick run: only these classes
    classes=(${JLIGHT_TEST_CLASSES//,/ })
  fi
  regen=${JLIGHT_REGEN_GOLDEN:-}
  if [[ -n "$regen" ]]; then
    log "regenerating golden models $regen in the background (log: golden.log in golden.tgz)"
    rm -rf /tmp/jlight-golden
    pin=(); command -v taskset >/dev/null && pin=(taskset -c 8-15)
    (OMP_NUM_THREADS=8 "${pin[@]}" python3 scripts/make_golden.py --assets .assets --out /tmp/jlight-golden \
       --only "$regen" > /tmp/jlight-golden.log 2>&1; echo "exit $?" >> /tmp/jlight-golden.log) &
    regen_pid=$!
    classes=($(printf '%s\n' "${classes[@]}" | grep -vx CudaGoldenTest) CudaGoldenTest)
  fi
  sync_launches=${JLIGHT_TEST_SYNC:-true}
  log "tests with -Djlight.cuda.syncLaunches=$sync_launches"
  tests_deadline=$(( ${JLIGHT_TESTS_BUDGET:-210} ))
  for c in "${classes[@]}"; do
    if [[ "$c" == CudaGoldenTest && -n "$regen" ]]; then
      wait "$regen_pid"
      log "make_golden: $(tail -1 /tmp/jlight-golden.log)"
      for m in ${regen//,/ }; do
        [[ -f /tmp/jlight-golden/models/$m/expected.json ]] && rm -rf "testdata/golden/models/$m" \
          && cp -r "/tmp/jlight-golden/models/$m" testdata/golden/models/
      done
      cp /tmp/jlight-golden.log /tmp/jlight-golden/golden.log
      tar -czf "$OUT/golden.tgz" -C /tmp/jlight-golden .
    fi
    spent=$(( SECONDS - t_start ))
    limit=$(( tests_deadline - spent ))
    (( limit > 150 )) && limit=150
    echo "===== $c =====" >> "$OUT/gpu-tests.txt"
    mkdir -p "$OUT/junit/$c"
    # syncLaunches: each launch is waited for, so an asynchronous fault names its kernel and shape
    step "$limit" "tests $c" java "${flags[@]}" -Xmx16g -Djlight.cuda.syncLaunches="$sync_launches" \
      -jar "$run"/junit-platform-console-standalone-*.jar execute \
      --class-path "$cp" --select-class "dev.jlight.cuda.$c" --include-engine=junit-jupiter \
      --details=tree --disable-banner --disable-ansi-colors --reports-dir "$OUT/junit/$c" "$@" \
      >> "$OUT/gpu-tests.txt" 2>&1
  done
  # one XML file for all classes
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuites>'
    for f in "$OUT"/junit/*/*.xml; do
      [[ -f "$f" ]] && grep -v '^<?xml' "$f"
    done
    echo '</testsuites>'
  } > "$OUT/junit/TEST-gpu.xml.tmp"
  rm -rf "$OUT"/junit/*/
  mv "$OUT/junit/TEST-gpu.xml.tmp" "$OUT/junit/TEST-gpu.xml"
  grep -E '^\[ +[0-9]+ tests (successful|failed|aborted|skipped) +\]' "$OUT/gpu-tests.txt" \
    | awk '{n[$4]+=$2} END {for (k in n) printf "tests %s: %d\n", k, n[k]}' | sort | tee -a "$summary"
  grep -E '✘' "$OUT/gpu-tests.txt" | head -40 | sed 's/^/  failed: /' | tee -a "$summary"
fi

if [[ "$what" == all || "$what" == bench ]]; then
  limit=$(( $(left) - 200 ))
  (( limit > 75 )) && limit=75
  step "$limit" "CudaMicroBench" java "${flags[@]}" -Xmx8g -cp "$cp" dev.jlight.cuda.bench.CudaMicroBench 30 \
    > "$OUT/bench.txt" 2>&1
  tail -40 "$OUT/bench.txt"
fi

if [[ "$what" == all || "$what" == bench || "$what" == decode ]]; then
  bench=(java "${flags[@]}" -Xmx48g -Djlight.commit="$commit" -cp "$cp" dev.jlight.cuda.bench.LlamaDecodeBench
         --model models/shapes/llama-3.1-8b --batch-sizes 1,8,32,64,128,256 --prompt-len 512 --decode-steps 128
         --prefill-lens 512,4096 --profile-batches 1,64)
  limit=$(( $(left) - 5 ))
  (( limit > 240 )) && limit=240
  step "$limit" "LlamaDecodeBench" "${bench[@]}" --out "$OUT/decode-bench.md" > "$OUT/decode-bench.txt" 2>&1
  rc=$?
  if (( rc != 0 )) || grep -q 'failed\*\*' "$OUT/decode-bench.md" 2>/dev/null; then
    log "LlamaDecodeBench had failures: once more with grouped attention, cuBLASLt only, no graphs"
    echo "===== conservative run =====" >> "$OUT/decode-bench.txt"
    step "$(( $(left) - 3 ))" "LlamaDecodeBench (conservative)" java "${flags[@]}" -Xmx48g \
      -Djlight.cuda.attention=grouped -Djlight.cuda.gemv=off -Djlight.cuda.graphs=false \
      -Djlight.commit="$commit" -cp "$cp" dev.jlight.cuda.bench.LlamaDecodeBench \
      --model models/shapes/llama-3.1-8b --batch-sizes 1,8,64,256 --prompt-len 512 --decode-steps 64 \
      --prefill-lens 512,4096 --profile-batches 1 --out "$OUT/decode-bench-safe.md" >> "$OUT/decode-bench.txt" 2>&1
  fi
  cat "$OUT/decode-bench.md" 2>/dev/null
fi
if [[ "$what" == all || "$what" == families ]]; then
  # issue 9's shapes: Qwen2.5-7B (QKV bias, 28 layers) and a 2-layer slice of Mixtral-8x7B (its real
  # layer shape; all of it does not fit one H100 in bf16), plus the MoE rows of the micro-bench
  : > "$OUT/families-bench.md"
  : > "$OUT/families-bench.txt"
  for spec in "qwen2.5-7b 1,8,64,256 512" "mixtral-8x7b-2layers 1,8,64,256 512,4096"; do
    read -r shape batches prefill <<< "$spec"
    limit=$(( $(left) - 5 ))
    (( limit > 120 )) && limit=120
    echo "===== $shape =====" >> "$OUT/families-bench.txt"
    step "$limit" "LlamaDecodeBench $shape" java "${flags[@]}" -Xmx48g -Djlight.commit="$commit" -cp "$cp" \
      dev.jlight.cuda.bench.LlamaDecodeBench --model "models/shapes/$shape" --batch-sizes "$batches" \
      --prompt-len 512 --decode-steps 64 --prefill-lens "$prefill" --profile-batches 1,64 \
      --out "$OUT/$shape.md.tmp" >> "$OUT/families-bench.txt" 2>&1
    cat "$OUT/$shape.md.tmp" >> "$OUT/families-bench.md" 2>/dev/null
    echo >> "$OUT/families-bench.md"
    rm -f "$OUT/$shape.md.tmp"
  done
  limit=$(( $(left) - 3 ))
  (( limit > 60 )) && limit=60
  echo "===== CudaMicroBench moe =====" >> "$OUT/families-bench.txt"
  step "$limit" "CudaMicroBench moe" java "${flags[@]}" -Xmx8g -cp "$cp" dev.jlight.cuda.bench.CudaMicroBench 30 moe \
    >> "$OUT/families-bench.txt" 2>&1
  cat "$OUT/families-bench.md"
fi
log "device_gpu_tests: done in $(( SECONDS - t_start ))s, status $status (commit $commit)"
exit "$status"
