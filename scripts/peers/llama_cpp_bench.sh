#!/usr/bin/env bash
# Peer baseline on the device: llama.cpp's CUDA build, random bf16 weights at the Llama-3.1-8B
# shape, measured as LlamaDecodeBench measures JLight (context 512 then decode; prefill 512 and
# 4096; batched decode at several batch sizes).
#
#   scripts/peers/llama_cpp_bench.sh OUT_DIR
#
# Needs the source tarball from scripts/peers/pack_llama_cpp.sh (LLAMA_SRC_TAR, default
# .device/peers/llama-cpp-src.tar.xz), cmake, a C++ compiler, nvcc, and python3 with numpy and
# pyyaml (for gguf-py). Builds only llama-bench, llama-batched-bench and llama-server (~5 min on
# 16 cores; llama-server, without its web UI, is what scripts/device_serve_bench.sh serves).
# Env: WORK (build + model folder, default /tmp/llama-peer: the GGUF is 16 GB), BATCHES (default
# 1,8,32,64,128,256), JOBS (default nproc), CUDA_ARCH (default 90), PREPARE_ONLY=1 (build and write
# the model, then stop: the first call on a fresh machine takes most of a 10-minute device call).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: llama_cpp_bench.sh OUT_DIR}"
tarball="${LLAMA_SRC_TAR:-$root/.device/peers/llama-cpp-src.tar.xz}"
work="${WORK:-/tmp/llama-peer}"
batches="${BATCHES:-1,8,32,64,128,256}"
jobs="${JOBS:-$(nproc)}"
arch="${CUDA_ARCH:-90}"
say() { echo "[$(date +%H:%M:%S)] llama.cpp: $*" >&2; }
fail() { echo "error: llama.cpp: $*" >&2; exit 2; }

[ -f "$tarball" ] || fail "no source tarball at $tarball (run scripts/peers/pack_llama_cpp.sh and carry .device/peers)"
command -v cmake >/dev/null || fail "cmake not found"
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || fail "nvcc not found"
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
python3 -c 'import numpy, yaml' 2>/dev/null || fail "python3 lacks numpy or pyyaml (gguf-py needs both)"
nvidia-smi -L >/dev/null 2>&1 || fail "no GPU visible (nvidia-smi -L failed)"
mkdir -p "$out" "$work"

src="$work/src/llama.cpp"
if [ ! -f "$src/NODE_LLAMA_CPP_SOURCE" ]; then
  say "unpacking $tarball"
  rm -rf "$work/src" && mkdir -p "$work/src" && tar -xJf "$tarball" -C "$work/src"
fi
version="node-llama-cpp $(cut -d' ' -f1 "$src/NODE_LLAMA_CPP_SOURCE"), llama.cpp $(cut -d' ' -f2 "$src/NODE_LLAMA_CPP_SOURCE" | cut -c1-12)"
build="$work/build"
targets=(llama-bench llama-batched-bench llama-server)
missing=false
for t in "${targets[@]}"; do [ -x "$build/bin/$t" ] || missing=true; done
if $missing; then
  say "configuring (CUDA arch $arch)"
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DLLAMA_BUILD_APP=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TOOLS=ON \
    -DGGML_CCACHE=OFF > "$out/llama-cpp-cmake.log" 2>&1 \
    || { tail -30 "$out/llama-cpp-cmake.log" >&2; fail "cmake configure failed (log: $out/llama-cpp-cmake.log)"; }
  say "building ${targets[*]} with $jobs jobs"
  t0=$(date +%s)
  cmake --build "$build" -j "$jobs" --target "${targets[@]}" > "$out/llama-cpp-build.log" 2>&1 \
    || { tail -30 "$out/llama-cpp-build.log" >&2; fail "build failed (log: $out/llama-cpp-build.log)"; }
  say "built in $(( $(date +%s) - t0 )) s"
fi

model="$work/llama-3.1-8b-random-bf16.gguf"
if [ ! -f "$model" ]; then
  say "writing the random bf16 GGUF ($model)"
  python3 "$root/scripts/peers/make_random_gguf.py" --gguf-py "$src/gguf-py" --out "$model.tmp" \
    --shape "$root/models/shapes/llama-3.1-8b"
  mv "$model.tmp" "$model"
fi

if [ "${PREPARE_ONLY:-0}" = 1 ]; then
  say "prepared: $build/bin and $model (PREPARE_ONLY=1: no benchmark)"
  exit 0
fi

bench_cmd=("$build/bin/llama-bench" -m "$model" -ngl 99 -p 512,4096 -n 128 -d 0,512 -r 3 -o md)
say "${bench_cmd[*]}"
"${bench_cmd[@]}" > "$out/llama-bench.md" 2> "$out/llama-bench.log" \
  || { tail -20 "$out/llama-bench.log" >&2; fail "llama-bench failed"; }
cat "$out/llama-bench.md"

maxb=$(tr ',' '\n' <<< "$batches" | sort -n | tail -1)
ctx=$(( maxb * (512 + 128) + 256 ))
batched_cmd=("$build/bin/llama-batched-bench" -m "$model" -ngl 99 -c "$ctx" -b 2048 -ub 512 -npp 512 -ntg 128 -npl "$batches")
say "${batched_cmd[*]}"
"${batched_cmd[@]}" > "$out/llama-batched-bench.txt" 2> "$out/llama-batched-bench.log" \
  || { tail -20 "$out/llama-batched-bench.log" >&2; fail "llama-batched-bench failed"; }
cat "$out/llama-batched-bench.txt"

card="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
{
  echo "### llama.cpp (CUDA) on $card, $(date -u +%F)"
  echo
  echo "- peer: $version (source from the npm package, built here with -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$arch)"
  echo "- model: llama-3.1-8b shape, random bf16 GGUF (scripts/peers/make_random_gguf.py), all layers on the GPU"
  echo "- command: \`$(basename "${bench_cmd[0]}") ${bench_cmd[*]:1}\` (pp = prefill tok/s, tg128 = decode tok/s at batch 1; @ d512 = after a 512-token context, as LlamaDecodeBench)"
  echo "- command: \`$(basename "${batched_cmd[0]}") ${batched_cmd[*]:1}\` (S_TG = decode tok/s over all sequences, context 512 then 128 steps)"
  echo
  sed 's#'"$work"'/##g' "$out/llama-bench.md"
  echo
  echo '```'
  grep -E '^\|' "$out/llama-batched-bench.txt" || cat "$out/llama-batched-bench.txt"
  echo '```'
} > "$out/llama-cpp.md"
say "report written to $out/llama-cpp.md"
