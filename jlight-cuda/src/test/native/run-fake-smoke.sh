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
LD_LIBRARY_PATH="$out" java --enable-native-access=ALL-UNNAMED -cp "$(ls "$lib"/*.jar | tr '\n' ':')" \
  "$here/FakeDriverSmoke.java" "$out/config.json"
