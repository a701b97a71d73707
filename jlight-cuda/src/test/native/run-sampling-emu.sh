#!/usr/bin/env bash
# Builds sampling_emu.cpp (sampling.cu's kernel run on the CPU, one thread per CUDA thread) with
# g++ and the CUDA headers, and checks it against a port of the host Sampler. About 30 s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/../../../target/kernel-emu
mkdir -p "$out"
cuda=${CUDA_HOME:-/usr/local/cuda}
g++ -std=c++20 -O1 -Wall -Wno-unused-function -Wno-unknown-pragmas -I"$cuda/include" -o "$out/sampling_emu" "$here/sampling_emu.cpp" -pthread
"$out/sampling_emu"
