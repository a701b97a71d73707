#!/usr/bin/env bash
# Packs, here, everything the two device calls of scripts/device_serve_bench.sh need into .device/
# (git-ignored; carry=[".device"]): the `jlight` CLI with the CUDA backend (pack_gpu_run.sh
# --with-server), llama.cpp's trimmed source (peers/pack_llama_cpp.sh, built on the device by
# `device_peers.sh llamacpp-build`) and the Llama-3 tokenizer (tokenizer.json is 9 MB; xz makes it
# ~2 MB) that both servers' prompts are made with.
#   bash scripts/pack_serve_bench.sh [--skip-jars]   (--skip-jars: keep the .device/gpu-run already packed)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
skip_jars=false
for arg in "$@"; do
  case "$arg" in
    --skip-jars) skip_jars=true ;;
    *) echo "pack_serve_bench: unknown option $arg (use --skip-jars)" >&2; exit 2 ;;
  esac
done
if $skip_jars; then
  [[ -d .device/gpu-run/server-lib ]] || { echo "pack_serve_bench: --skip-jars but no .device/gpu-run/server-lib" >&2; exit 2; }
else
  bash scripts/pack_gpu_run.sh --with-server
fi
# a tarball packed before llama-server was carried has no tools/server: pack it again
src_tar=.device/peers/llama-cpp-src.tar.xz
if [[ ! -f "$src_tar" ]] || ! tar -tJf "$src_tar" | grep -q '^llama.cpp/tools/server/server.cpp$'; then
  bash scripts/peers/pack_llama_cpp.sh
fi
tok=.assets/tokenizers/llama3
[[ -f "$tok/tokenizer.json" ]] || bash scripts/fetch_assets.sh
[[ -f "$tok/tokenizer.json" ]] || { echo "pack_serve_bench: $tok/tokenizer.json missing after fetch_assets.sh" >&2; exit 2; }
mkdir -p .device/serve-bench
tar -C "$tok" -cf - tokenizer.json tokenizer_config.json | xz -T0 -9 > .device/serve-bench/llama3-tokenizer.tar.xz
size=$(du -sm .device | cut -f1)
echo "pack_serve_bench: .device holds ${size} MB (the tool carries 64 MiB with the working tree):"
du -sh .device/* | sed 's/^/  /'
if (( size >= 60 )); then echo "pack_serve_bench: .device too big for the device tool" >&2; exit 1; fi
tree=$(( $(git ls-files -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1) / 1048576 ))
if (( tree + size >= 62 )); then
  echo "pack_serve_bench: the tracked tree (${tree} MB) + .device (${size} MB) pass the 64 MiB the device tool carries:"
  echo "  move models/jlight-demo and testdata/golden out of the tree for these calls (neither is used by them)"
fi
echo "pack_serve_bench: then, back to back on the device:"
echo '  run(command="WORK=/tmp/lcw bash scripts/device_peers.sh llamacpp-build", carry=[".device/peers"])'
echo '  run(command="source .device/env.sh && WORK=/tmp/lcw bash scripts/device_serve_bench.sh", carry=[".device"])'
