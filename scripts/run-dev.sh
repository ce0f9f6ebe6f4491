#!/usr/bin/env bash
# Runs the broker on its embedded default: file backend with example secrets, a development CA and
# certificates under ./keybroker-dev, an example policy. Prints a working curl line once it is ready.
# Extra arguments are passed to the broker (e.g. --keybroker.listen.port=9443).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jar=broker/target/keybroker.jar
if [ ! -f "$jar" ] || [ -n "$(find broker/src pom.xml broker/pom.xml -newer "$jar" -print -quit)" ]; then
  echo "Building $jar ..."
  ./mvnw -q -B -ntp -pl broker -am package -DskipTests
fi
java_bin=java
if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  java_bin=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
fi
exec "$java_bin" -jar "$jar" --keybroker.dev=true --keybroker.dev-dir="$root/keybroker-dev" "$@"
