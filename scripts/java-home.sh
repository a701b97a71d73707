# Sourced by ./jlight, ./run-tests and .ci/run: points JAVA_HOME at a Java 25 JDK (Temurin 25
# under /usr/lib/jvm unless JAVA_HOME already is a Java 25+), or fails with a clear message.
jlight_java_ok() { [ -x "$1/bin/java" ] && "$1/bin/java" -version 2>&1 | head -1 | grep -qE '"(2[5-9]|[3-9][0-9])'; }
if [ -z "${JAVA_HOME:-}" ] || ! jlight_java_ok "$JAVA_HOME"; then
  JAVA_HOME=""
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/*25*; do
    if [ -d "$d" ] && jlight_java_ok "$d"; then JAVA_HOME="$d"; break; fi
  done
  if [ -z "$JAVA_HOME" ]; then
    echo "JLight needs Java 25 (Temurin 25): none found in JAVA_HOME or /usr/lib/jvm/temurin-25*. Install it and set JAVA_HOME." >&2
    exit 2
  fi
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
