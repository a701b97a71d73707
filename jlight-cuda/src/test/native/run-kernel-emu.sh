#!/usr/bin/env bash
# Builds the CPU emulators of src/main/cuda's kernels (one thread per CUDA thread, see
# emu_model.h) with g++ and the CUDA headers, and runs them; checks the kernels' indexing and
# math against reference implementations without a GPU. About a minute.
#   kernel_emu.cpp:   split-KV and flash attention, GEMV, read and MoE kernels
#   sampling_emu.cpp: sample_rows_f32 against a port of the host Sampler
#   usage: run-kernel-emu.sh [kernel_emu|sampling_emu ...]   (default: all)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/../../../target/kernel-emu
mkdir -p "$out"
cuda=${CUDA_HOME:-/usr/local/cuda}
names=("$@")
(( ${#names[@]} )) || names=(kernel_emu sampling_emu)
for n in "${names[@]}"; do
  g++ -std=c++20 -O1 -Wall -Wno-unused-function -Wno-unknown-pragmas -I"$cuda/include" -o "$out/$n" "$here/$n.cpp" -pthread
  "$out/$n"
done
