#!/usr/bin/env bash
# Builds jlight-cuda here (kernels with nvcc, classes, test classes) and packs what a GPU run
# needs into .device/ for the device tool: .device/gpu-run/{lib/*.jar, junit console launcher}
# plus the Java runtime that ../shared/tools/device-pack adds. Then, on the device:
#   run(command="source .device/env.sh && bash scripts/device_gpu_tests.sh", carry=[".device"])
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
source scripts/java-home.sh
pack=${DEVICE_PACK:-}
for p in "$root/../shared/tools/device-pack" /work/shared/tools/device-pack; do
  if [[ -z "$pack" && -x "$p" ]]; then pack=$p; fi
done
[[ -n "$pack" ]] || { echo "pack_gpu_run: device-pack not found (set DEVICE_PACK)" >&2; exit 2; }
if [[ ! -d .git ]]; then
  echo "pack_gpu_run: $root is a git worktree (.git is a file); device-pack writes .git/info/exclude and" \
       "needs a checkout whose .git is a directory: run this from the main checkout" >&2
  exit 2
fi
junit_platform=1.14.4   # the platform of junit-bom 5.14.4
out=jlight-cuda/target/gpu-run
rm -rf "$out"
mkdir -p "$out/lib"

# classes, test classes and the kernels fatbin (package runs test-compile; -DskipTests runs none),
# then jlight-cuda's runtime + test dependencies, less JUnit (the console launcher bundles it)
# and the tokenizer natives (18 MB, not used by these tests)
mvn -B -q -pl jlight-cuda -am -DskipTests package dependency:copy-dependencies -DincludeScope=test \
  -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian,ai.djl,ai.djl.huggingface \
  -Dmdep.prependGroupId=false
cp jlight-cuda/target/dependency/*.jar "$out/lib/"
cp jlight-cuda/target/jlight-cuda-*.jar "$out/lib/"
"$JAVA_HOME/bin/jar" cf "$out/lib/jlight-cuda-tests.jar" -C jlight-cuda/target/test-classes .
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_platform" \
  -DoutputDirectory="$root/$out"
unzip -p jlight-cuda/target/jlight-cuda-*.jar dev/jlight/cuda/kernels.properties || true

rm -rf .device/gpu-run
"$pack" "$out"
echo "pack_gpu_run: $(ls "$out/lib" | wc -l) jars in .device/gpu-run/lib:"
ls -l "$out/lib" | awk 'NR>1 {printf "  %9d  %s\n", $5, $9}'
size=$(du -sm .device | cut -f1)
echo "pack_gpu_run: .device holds ${size} MB in all (limit 64 MiB)"
if (( size >= 60 )); then echo "pack_gpu_run: too big for the device tool" >&2; exit 1; fi
