#!/usr/bin/env bash
# Compiles src/main/cuda/kernels.cu (which includes every op family's .cu) into ONE fatbin,
# the resource dev/jlight/cuda/kernels.fatbin that CudaBackend loads with cuModuleLoadData.
# Called by Maven (generate-resources) as: build-kernels.sh OUT_DIR [NVCC]
# nvcc is, in order: the second argument (-Djlight.nvcc=..., set by the nvcc profile when
# /usr/local/cuda/bin/nvcc exists), $NVCC, nvcc on PATH. Without one the build goes on without
# kernels and kernels.properties says so; the backend then reports "kernels not built".
set -euo pipefail
out=$1
nvcc=${2:-}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"
if [[ -z "$nvcc" || ! -x "$nvcc" ]]; then nvcc=${NVCC:-}; fi
if [[ -z "$nvcc" || ! -x "$nvcc" ]]; then nvcc=$(command -v nvcc || true); fi
if [[ -z "$nvcc" ]]; then
  echo "[jlight-cuda] nvcc not found (no -Djlight.nvcc, \$NVCC, /usr/local/cuda/bin/nvcc or nvcc on PATH):"
  echo "[jlight-cuda] SKIPPING kernel compilation; CudaBackend will report 'kernels not built (nvcc absent at build time)'"
  rm -f "$out/kernels.fatbin"
  printf 'built=false\nreason=nvcc absent at build time\n' > "$out/kernels.properties"
  exit 0
fi
# sm_90a: H100/H200 machine code (wgmma-capable target); compute_90: PTX for later GPUs;
# sm_80: A100 machine code. --use_fast_math is deliberately absent (rope needs exact sincosf).
gencode=(-gencode arch=compute_90a,code=sm_90a -gencode arch=compute_90,code=compute_90
         -gencode arch=compute_80,code=sm_80)
fatbin="$out/kernels.fatbin"
newest=$(ls -t "$src"/*.cu "$src"/*.cuh "$src"/build-kernels.sh | head -1)
if [[ -f "$fatbin" && "$fatbin" -nt "$newest" && -f "$out/kernels.properties" ]]; then
  echo "[jlight-cuda] kernels.fatbin is up to date"
  exit 0
fi
version=$("$nvcc" --version | tail -1)
echo "[jlight-cuda] compiling kernels with $nvcc ($version)"
start=$SECONDS
"$nvcc" -O3 -std=c++17 -fatbin "${gencode[@]}" -o "$fatbin" "$src/kernels.cu"
printf 'built=true\nnvcc=%s\ngencode=%s\n' "$version" "${gencode[*]}" > "$out/kernels.properties"
echo "[jlight-cuda] kernels.fatbin: $(stat -c %s "$fatbin") bytes in $((SECONDS - start)) s"
