# Sourced by the device scripts (device_e2e.sh, device_serve_bench.sh), from the repo root: the
# `jlight` CLI as ./jlight runs it, from the jars scripts/pack_gpu_run.sh --with-server packed
# into .device/gpu-run, as an array (`jlight`) so that `timeout` and `&` can run it.
# jlight_cli returns 1 (and sets nothing) when the server jars are not there.
jlight_cli() {
  local run=.device/gpu-run
  [[ -d "$run/server-lib" ]] || return 1
  local cp
  cp=$(ls "$run"/server-lib/*.jar "$run"/lib/*.jar | tr '\n' ':')
  jlight=(java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx8g
          -Djlight.home="$PWD" -cp "$cp" dev.jlight.server.cli.JLightCli)
}
