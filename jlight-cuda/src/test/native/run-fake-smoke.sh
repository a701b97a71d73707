#!/usr/bin/env bash
# Builds fake_cuda.c into stand-ins for libcuda.so.1 and libcublasLt.so.13 and runs
# FakeDriverSmoke against the packed classes (run scripts/pack_gpu_run.sh first). No GPU needed;
# FAKE_CUDA_VERBOSE=1 logs every launch and matmul.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$(cd "$here/../../.." && pwd)
lib=$module/target/gpu-run/lib
[[ -d "$lib" ]] || { echo "run-fake-smoke: $lib missing: run scripts/pack_gpu_run.sh first" >&2; exit 2; }
out=$module/target/fake-cuda
mkdir -p "$out"
gcc -O1 -shared -fPIC -o "$out/libcuda.so.1" "$here/fake_cuda.c"
cp "$out/libcuda.so.1" "$out/libcublasLt.so.13"
python3 - "$module/src/test/java/dev/jlight/cuda/CudaLlamaModelTest.java" "$out/config.json" <<'PY'
import sys
s = open(sys.argv[1]).read()
open(sys.argv[2], 'w').write(s[s.index('"""') + 3:s.rindex('"""')])
PY
cp=$(ls "$lib"/*.jar | tr '\n' ':')
LD_LIBRARY_PATH="$out" java --enable-native-access=ALL-UNNAMED -cp "$cp" "$here/FakeDriverSmoke.java" "$out/config.json"
# the decode benchmark's Java side at a tiny shape (the fake kernels do not run: timings are meaningless)
LD_LIBRARY_PATH="$out" java --enable-native-access=ALL-UNNAMED -Xmx4g -Djlight.commit=fake -cp "$cp" \
  dev.jlight.cuda.bench.LlamaDecodeBench --model "$out" --batch-sizes 1,8,64 --decode-steps 16 \
  --prefill-lens 64,600 --profile-batches 1 --out "$out/decode-bench.md"
grep -q "failed" "$out/decode-bench.md" && { echo "run-fake-smoke: a bench phase failed" >&2; exit 1; }
echo "run-fake-smoke: OK"
