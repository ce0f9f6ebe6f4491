#!/usr/bin/env bash
# Measures time from process start to readiness 200 and resident memory at idle, for the broker in development
# mode. Usage: scripts/measure-startup.sh [java-binary] [runs]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
java_bin="${1:-java}"
runs="${2:-3}"
jar="$root/broker/target/keybroker.jar"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for i in $(seq 1 "$runs"); do
  port=$((20000 + RANDOM % 10000)); mport=$((port + 1))
  start=$(date +%s%N)
  "$java_bin" -jar "$jar" --keybroker.dev=true --keybroker.dev-dir="$dir/dev" --keybroker.listen.port=$port \
    --keybroker.management.port=$mport > "$dir/log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$mport/actuator/health/readiness" > /dev/null; do
    kill -0 $pid 2>/dev/null || { cat "$dir/log"; exit 1; }
    sleep 0.02
  done
  ready=$(( ($(date +%s%N) - start) / 1000000 ))
  # Idle: one request served, then let the JIT and GC settle for a moment before reading RSS.
  curl -s --cacert "$dir/dev/ca.pem" --cert "$dir/dev/client.pem" --key "$dir/dev/client-key.pem" \
    "https://127.0.0.1:$port/v1/secrets/stripe/secret-key" > /dev/null
  sleep 5
  rss=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status)
  echo "run $i: ready in ${ready} ms, RSS at idle ${rss} MiB ($("$java_bin" -version 2>&1 | head -1))"
  kill $pid; wait $pid 2>/dev/null || true
done
