#!/usr/bin/env bash
# Builds kernel_emu.cpp (the attention, GEMV, norm, rope, MoE and read kernels of src/main/cuda run
# on the CPU, one thread per CUDA thread) with g++ and the CUDA headers, and runs it: checks the
# kernels' indexing and math against reference implementations without a GPU. About a minute.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/../../../target/kernel-emu
mkdir -p "$out"
cuda=${CUDA_HOME:-/usr/local/cuda}
g++ -std=c++20 -O1 -Wall -Wno-unused-function -Wno-unknown-pragmas -I"$cuda/include" -o "$out/kernel_emu" "$here/kernel_emu.cpp" -pthread
"$out/kernel_emu"
