#!/usr/bin/env bash
# A quick A/B of one broker jar and its JVM flags, for weighing a change before the full scripts/bench.sh: the
# broker in development mode (file backend, generated certificates) pinned to one core, the load generator to the
# other, 16 keep-alive mTLS connections on GET /v1/secrets/stripe/secret-key, then N full handshakes. Prints max
# throughput, broker CPU per read and per handshake, and memory. Figures are for comparing two runs made one
# after the other on the same quiet machine, not for docs/performance.md's table.
#
#   scripts/bench-quick.sh [--jar JAR] [--seconds S] [--handshakes N] [-- JVM-FLAG... | --spring NAME=VALUE...]
#
#   --jar         the broker jar (default broker/target/keybroker.jar, built when missing)
#   --seconds     length of the measured phase after a 5 s warm-up (default 10)
#   --handshakes  full handshakes after the load (default 50)
#   JVM flags after --, e.g. -- -XX:TieredStopAtLevel=1 -Dkeybroker.tls.provider=jdk; the image's flags and the
#   chart's memory limit are used when none are given.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JAR="$ROOT/broker/target/keybroker.jar"; SECONDS_MEASURED=10; HANDSHAKES=50; EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jar) JAR="$2"; shift 2 ;;
    --seconds) SECONDS_MEASURED="$2"; shift 2 ;;
    --handshakes) HANDSHAKES="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "bench-quick.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
JAVA="${BENCH_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
[[ -f "$JAR" ]] || (cd "$ROOT" && ./mvnw -B -ntp -q -pl broker -am package -DskipTests)
[[ -f "$ROOT/bench/target/keybroker-bench.jar" ]] || (cd "$ROOT" && ./mvnw -B -ntp -q -pl bench package)
# The image's JVM flags and the chart's memory limit, as scripts/measure-startup.sh uses them.
source "$ROOT/scripts/lib/broker-jvm-flags.sh"
W="$(mktemp -d /tmp/keybroker-quick.XXXXXX)"
cp "$JAR" "$W/keybroker.jar"
(cd "$W" && "$JAVA" -Djarmode=tools -jar keybroker.jar extract --destination app >/dev/null)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"; MGMT="$(free_port)"
mkdir -p "$W/policy"
cp "$ROOT/scripts/lib/bench-policy.yaml" "$W/policy/bench.yaml"
taskset -c 0 "$JAVA" "${FLAGS[@]}" "${EXTRA[@]}" -jar "$W/app/keybroker.jar" --keybroker.dev=true \
  --keybroker.dev-dir="$W/dev" --keybroker.listen.port="$PORT" --keybroker.management.port="$MGMT" \
  --keybroker.audit.file="$W/audit.jsonl" --keybroker.policy.dir="$W/policy" >"$W/keybroker.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$MGMT/actuator/health/readiness" && break; sleep 0.1; done
taskset -c 1 "$JAVA" -XX:+UseSerialGC -Xmx256m -jar "$ROOT/bench/target/keybroker-bench.jar" load --results "$W/r" \
  --clk-tck "$(getconf CLK_TCK)" --label quick --pid "$PID" --connections 16 --warmup 5 --duration "$SECONDS_MEASURED" \
  --new-connections "$HANDSHAKES" --url "https://127.0.0.1:$PORT/v1/secrets/stripe/secret-key" \
  --ca "$W/dev/ca.pem" --cert "$W/dev/client.pem" --key "$W/dev/client-key.pem" >/dev/null
r() { sed -n "s/^quick\.$1=//p" "$W/r" | tail -n1; }
printf 'flags: %s\n' "${EXTRA[*]:-(the image defaults)}"
printf 'max %.0f req/s, %.0f µs broker CPU per read, %s errors; %.0f µs broker CPU per full handshake; RSS %d MiB (anonymous %d MiB)\n' \
  "$(r max.rps)" "$(r max.cpu_us_per_req)" "$(r max.errors)" "$(r connect.cpu_us_per_conn)" \
  "$(( $(r max.rss_kib) / 1024 ))" "$(( $(r max.rss_anon_kib) / 1024 ))"
grep -h 'key-exchange groups of the listener' "$W/keybroker.log" | sed 's/.*listener: /TLS: /' || true
