#!/usr/bin/env bash
# Builds jlight-cuda here (kernels with nvcc, classes, test classes) and packs what a GPU run
# needs into .device/ for the device tool: .device/gpu-run/{lib/*.jar, junit console launcher},
# .device/commit.txt (the commit the run is of) and the Java runtime (with jdk.zipfs, which the
# JUnit console launcher needs to scan jars) that ../shared/tools/device-pack makes. Then, on
# the device, ONE command runs every gpu test, the micro-benchmark and the decode benchmark:
#   run(command="source .device/env.sh && bash scripts/device_gpu_tests.sh", carry=[".device"])
# The golden models (testdata/golden) and the demo model (models/jlight-demo) are tracked files:
# they travel with the working tree.
#
# From a git worktree (where .git is a file and device-pack cannot write .git/info/exclude) the
# runtime is made here the same way device-pack makes it, and /.device/ is added to the main
# checkout's info/exclude so that it is ignored in every worktree.
# --with-server adds what scripts/device_e2e.sh needs to run the `jlight` CLI (generate, serve,
# bench serve) on the device: jlight-server's jar and the runtime jars gpu-run/lib lacks, in
# gpu-run/server-lib, with the DJL tokenizer jar cut down to its linux-x86_64 native (the other
# platforms' libraries are ~40 MB of the jar and the device tool carries 64 MiB at most).
#   usage: bash scripts/pack_gpu_run.sh [--jars-only] [--with-server]
#   (--jars-only: build target/gpu-run, no .device)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
source scripts/java-home.sh
jars_only=false
with_server=false
for arg in "$@"; do
  case "$arg" in
    --jars-only) jars_only=true ;;
    --with-server) with_server=true ;;
    *) echo "pack_gpu_run: unknown option $arg (use --jars-only, --with-server)" >&2; exit 2 ;;
  esac
done
junit_platform=1.14.4   # the platform of junit-bom 5.14.4
out=jlight-cuda/target/gpu-run
rm -rf "$out"
mkdir -p "$out/lib"

# classes, test classes and the kernels fatbin (package runs test-compile; -DskipTests runs none),
# then jlight-cuda's runtime + test dependencies (jlight-core's test jar: the golden-model
# helpers), less JUnit (the console launcher bundles it) and the tokenizer natives (18 MB, not
# used by these tests)
mvn -B -q -pl jlight-cuda -am -DskipTests package dependency:copy-dependencies -DincludeScope=test \
  -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian,ai.djl,ai.djl.huggingface \
  -Dmdep.prependGroupId=false
cp jlight-cuda/target/dependency/*.jar "$out/lib/"
cp jlight-cuda/target/jlight-cuda-*.jar "$out/lib/"
"$JAVA_HOME/bin/jar" cf "$out/lib/jlight-cuda-tests.jar" -C jlight-cuda/target/test-classes .
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_platform" \
  -DoutputDirectory="$root/$out"
unzip -p jlight-cuda/target/jlight-cuda-*.jar dev/jlight/cuda/kernels.properties || true
# grep reads the whole listing (grep -q would quit early and, under pipefail, fail unzip with SIGPIPE)
if ! unzip -l jlight-cuda/target/jlight-cuda-*.jar | grep kernels.fatbin > /dev/null; then
  echo "pack_gpu_run: the jar has no kernels.fatbin (nvcc missing?): the device run would skip every gpu test" >&2
  exit 1
fi
if $with_server; then
  mvn -B -q -pl jlight-server -am -DskipTests package
  mkdir -p "$out/server-lib"
  cp jlight-server/target/jlight-server.jar "$out/server-lib/"
  for j in jlight-server/target/lib/*.jar; do
    name=$(basename "$j")
    [[ -f "$out/lib/$name" || "$name" == jlight-cuda-* ]] && continue   # gpu-run/lib has it (jlight-cuda: the one built above)
    cp "$j" "$out/server-lib/"
  done
  tok=$(ls "$out"/server-lib/tokenizers-*.jar 2>/dev/null | head -1)
  if [[ -n "$tok" ]]; then
    # only linux-x86_64 runs on the device; zip -d exits 12 when a pattern matches nothing
    zip -q -d "$tok" 'native/lib/linux-aarch64/*' 'native/lib/osx-*' 'native/lib/win-*' || [[ $? == 12 ]]
  fi
  echo "pack_gpu_run: server jars in $out/server-lib: $(du -sh "$out/server-lib" | cut -f1)"
fi
$jars_only && { echo "pack_gpu_run: jars in $out/lib"; exit 0; }

commit=$(git rev-parse HEAD)
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then commit="$commit-dirty"; fi

export JRE_MODULES="${JRE_MODULES:-java.base,jdk.incubator.vector,jdk.unsupported,java.logging,java.management,java.naming,java.net.http,jdk.httpserver,jdk.crypto.ec,java.sql,jdk.zipfs}"
rm -rf .device/gpu-run
if [[ -d .git ]]; then
  pack=${DEVICE_PACK:-}
  for p in "$root/../shared/tools/device-pack" /work/shared/tools/device-pack; do
    if [[ -z "$pack" && -x "$p" ]]; then pack=$p; fi
  done
  [[ -n "$pack" ]] || { echo "pack_gpu_run: device-pack not found (set DEVICE_PACK)" >&2; exit 2; }
  "$pack" "$out"
else
  # a worktree: device-pack's steps, done here (same runtime, same env.sh)
  common=$(git rev-parse --git-common-dir)
  mkdir -p "$common/info"
  grep -qxF '/.device/' "$common/info/exclude" 2>/dev/null || echo '/.device/' >> "$common/info/exclude"
  mkdir -p .device
  JDK=${JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}
  if [[ ! -f .device/jre.tar.xz || "$(cat .device/jre.modules 2>/dev/null)" != "$JRE_MODULES" ]]; then
    tmp=$(mktemp -d)
    "$JDK/bin/jlink" --add-modules "$JRE_MODULES" --strip-debug --no-header-files --no-man-pages \
      --output "$tmp/jre" 2>&1 | grep -v 'incubator modules' || true
    tar -C "$tmp" -cJf .device/jre.tar.xz jre
    echo "$JRE_MODULES" > .device/jre.modules
    rm -rf "$tmp"
  fi
  cat > .device/env.sh <<'ENV'
# sourced on the device machine: unpack the carried Java runtime once, then use it
if [ ! -x /tmp/jre/bin/java ]; then tar -C /tmp -xJf .device/jre.tar.xz; fi
export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
ENV
  cp -r "$out" .device/
fi
git check-ignore -q .device || { echo "pack_gpu_run: .device is not git-ignored: the device tool cannot carry it" >&2; exit 1; }
echo "$commit" > .device/commit.txt
# the test classes, so that device_gpu_tests.sh also runs classes added after it was written
(cd jlight-cuda/target/test-classes && find dev/jlight/cuda -maxdepth 1 -name '*Test.class' \
  | sed 's|.*/||; s|\.class$||' | sort) > .device/test-classes.txt
echo "pack_gpu_run: commit $commit; $(ls "$out/lib" | wc -l) jars in .device/gpu-run/lib:"
ls -l "$out/lib" | awk 'NR>1 {printf "  %9d  %s\n", $5, $9}'
size=$(du -sm .device | cut -f1)
echo "pack_gpu_run: .device holds ${size} MB in all (limit 64 MiB)"
if (( size >= 60 )); then echo "pack_gpu_run: too big for the device tool" >&2; exit 1; fi
echo "pack_gpu_run: on the device: source .device/env.sh && bash scripts/device_gpu_tests.sh   (carry .device)"
