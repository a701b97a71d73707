#!/usr/bin/env bash
# Packs the llama.cpp source that the device needs for scripts/peers/llama_cpp_bench.sh into
# .device/peers/llama-cpp-src.tar.xz (ignored, never committed).
#
# The source comes from the npm package node-llama-cpp (its llama/gitRelease.bundle is a git bundle
# of llama.cpp). The whole bundle is ~34 MB, too much for the device tool's 64 MiB (the JRE, the
# jars and the tree already take most of it), so this keeps only what the CUDA build of
# llama-bench, llama-batched-bench and llama-server reads, plus gguf-py (numpy only) to write
# the model: the top CMake files, cmake/, ggml/ without the other backends, src/, include/,
# common/, vendor/ (cpp-httplib and nlohmann json for the server), tools/llama-bench,
# tools/batched-bench, tools/server (its sources; no tests, no Python bench), tools/mtmd (the
# server's context library links it; no test media, tests or legacy scripts), gguf-py/.
# tools/CMakeLists.txt is replaced by one that adds only these (the original adds ~20 tools this
# tarball leaves out). The server's web UI (tools/ui, 8 MB of Svelte sources that npm builds, or
# a prebuilt bundle downloaded from Hugging Face at build time) is left out: only
# tools/ui/CMakeLists.txt, embed.cpp, sources.cmake and scripts/ui-assets.cmake are kept, and the
# build passes -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF, so llama-ui-embed writes an empty
# asset table: llama-server serves the API and no UI (the benchmark needs none).
#
#   scripts/peers/pack_llama_cpp.sh        # NODE_LLAMA_CPP_VERSION=3.21.1 by default
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="${NODE_LLAMA_CPP_VERSION:-3.21.1}"
work="$root/.assets/peers"
dest="$root/.device/peers"
mkdir -p "$work" "$dest"
command -v npm >/dev/null || { echo "error: npm not found" >&2; exit 2; }

tgz="$work/node-llama-cpp-$version.tgz"
if [ ! -f "$tgz" ]; then
  echo "== npm pack node-llama-cpp@$version"
  (cd "$work" && npm pack "node-llama-cpp@$version" --silent >/dev/null)
fi
rm -rf "$work/package" "$work/src" "$work/stage"
tar -xzf "$tgz" -C "$work" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
echo "== llama.cpp release in the bundle: $(tr -d '\n ' < "$work/package/llama/llama.cpp.info.json")"
git clone -q "$work/package/llama/gitRelease.bundle" "$work/src" 2>/dev/null
commit="$(git -C "$work/src" rev-parse HEAD)"

stage="$work/stage/llama.cpp"
mkdir -p "$stage"
keep=(CMakeLists.txt LICENSE cmake include src common vendor ggml/CMakeLists.txt ggml/cmake ggml/include
      ggml/src tools/llama-bench tools/batched-bench tools/server tools/mtmd tools/ui/CMakeLists.txt
      tools/ui/embed.cpp tools/ui/sources.cmake scripts/ui-assets.cmake gguf-py)
drop=(':!ggml/src/ggml-vulkan' ':!ggml/src/ggml-sycl' ':!ggml/src/ggml-metal' ':!ggml/src/ggml-opencl'
      ':!ggml/src/ggml-cann' ':!ggml/src/ggml-hexagon' ':!ggml/src/ggml-musa' ':!ggml/src/ggml-hip'
      ':!ggml/src/ggml-webgpu' ':!ggml/src/ggml-zdnn' ':!ggml/src/ggml-zendnn' ':!ggml/src/ggml-openvino'
      ':!ggml/src/ggml-virtgpu' ':!ggml/src/ggml-et' ':!ggml/src/ggml-rpc' ':!gguf-py/tests'
      ':!tools/server/tests' ':!tools/server/bench' ':!tools/mtmd/tests' ':!tools/mtmd/legacy-models'
      ':!tools/mtmd/test-*')
git -C "$work/src" archive HEAD -- "${keep[@]}" "${drop[@]}" | tar -x -C "$stage"
cat > "$stage/tools/CMakeLists.txt" <<'CMAKE'
# Replaced by scripts/peers/pack_llama_cpp.sh: only the two benchmarks and llama-server (with the
# UI and mtmd libraries it links) are carried to the device.
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(batched-bench)
add_subdirectory(llama-bench)
if (LLAMA_BUILD_SERVER)
    add_subdirectory(ui)
    add_subdirectory(mtmd)
    add_subdirectory(server)
endif()
CMAKE
echo "$version $commit" > "$stage/NODE_LLAMA_CPP_SOURCE"
out="$dest/llama-cpp-src.tar.xz"
tar -C "$work/stage" -cf - llama.cpp | xz -T0 -9 > "$out"
echo "== wrote $out: $(du -h "$out" | cut -f1) ($(stat -c %s "$out") bytes); unpacked $(du -sh "$stage" | cut -f1)"
echo "   node-llama-cpp $version, llama.cpp commit $commit"
