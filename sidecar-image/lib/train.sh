#!/usr/bin/env bash
# AOT training run of the broker, shared by build.sh and the Dockerfile.
#
# Starts the broker with JDK 25's -XX:AOTCacheOutput on a file-backend fixture
# (lib/make-fixture.sh) and on free loopback ports, waits until the readiness
# endpoint answers 200, sends mTLS requests (when curl is there) so the request
# path is loaded and profiled too, then stops the broker with SIGTERM: the JVM
# writes the AOT cache as it exits.
#
# Environment:
#   TRAIN_JAVA          command that runs the image's java (words; e.g. "chroot ROOTFS /opt/java/bin/java")
#   TRAIN_JVM_FLAGS     the image's entrypoint JVM flags (the cache is only used with the same GC)
#   TRAIN_JAR           the jar as the JVM sees it, the same path as in the image
#   TRAIN_FIXTURE       the fixture as the JVM sees it
#   TRAIN_FIXTURE_HOST  the fixture as this script sees it (default: TRAIN_FIXTURE)
#   TRAIN_OUT           the AOT cache file as the JVM sees it
#   TRAIN_OUT_HOST      the same file as this script sees it (default: TRAIN_OUT)
#   TRAIN_LOG           the broker's log (default: TRAIN_OUT_HOST.log)
set -euo pipefail
read -r -a JAVA <<<"${TRAIN_JAVA:?}"
read -r -a FLAGS <<<"${TRAIN_JVM_FLAGS:-}"
JAR="${TRAIN_JAR:?}"
FIXTURE="${TRAIN_FIXTURE:?}"
FIXTURE_HOST="${TRAIN_FIXTURE_HOST:-$FIXTURE}"
OUT="${TRAIN_OUT:?}"
OUT_HOST="${TRAIN_OUT_HOST:-$OUT}"
LOG="${TRAIN_LOG:-$OUT_HOST.log}"
CURL="$(command -v curl || true)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}
API_PORT="$(free_port)"
MGMT_PORT="$(free_port)"

"${JAVA[@]}" -XX:AOTCacheOutput="$OUT" "${FLAGS[@]}" -jar "$JAR" \
  --keybroker.environment=prod --keybroker.backend=file \
  --keybroker.file.path="$FIXTURE/secrets/secrets.yaml" \
  --keybroker.tls.certificate="$FIXTURE/tls/tls.crt" --keybroker.tls.private-key="$FIXTURE/tls/tls.key" \
  --keybroker.tls.trust-bundle="$FIXTURE/tls/ca.crt" --keybroker.policy.dir="$FIXTURE/policy" \
  --keybroker.audit.file="$(dirname "$OUT")/training-audit.jsonl" \
  --keybroker.listen.port="$API_PORT" --keybroker.management.port="$MGMT_PORT" >"$LOG" 2>&1 &
pid=$!

# Poll the readiness endpoint (bash's /dev/tcp: no curl needed) until a deadline.
deadline=$((SECONDS + 120))
ready=""
while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
  if { exec 3<>"/dev/tcp/127.0.0.1/$MGMT_PORT"; } 2>/dev/null; then
    printf 'GET /actuator/health/readiness HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    status="$(head -n1 <&3 || true)"
    exec 3<&- 3>&-
    if [[ "$status" == *" 200"* ]]; then ready=1; break; fi
  fi
  sleep 0.2
done
if [[ -z "$ready" ]]; then
  echo "training: the broker did not become ready; the end of its log ($LOG):" >&2
  tail -n 40 "$LOG" >&2
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  exit 1
fi
echo "training: broker ready (API 127.0.0.1:$API_PORT, management $MGMT_PORT)"

if [[ -n "$CURL" ]]; then
  answered=0
  for _ in $(seq 1 40); do
    for name in stripe/secret-key stripe/webhook-secret stripe/not-granted BAD..name; do
      code="$("$CURL" -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$FIXTURE_HOST/tls/ca.crt" \
        --cert "$FIXTURE_HOST/client/tls.crt" --key "$FIXTURE_HOST/client/tls.key" \
        "https://127.0.0.1:$API_PORT/v1/secrets/$name" || true)"
      [[ "$code" =~ ^[1-5][0-9][0-9]$ ]] && answered=$((answered + 1))
    done
    "$CURL" -s -o /dev/null --max-time 5 "http://127.0.0.1:$MGMT_PORT/actuator/prometheus" || true
  done
  echo "training: $answered mTLS requests answered over HTTPS"
else
  echo "training: no curl here, so the cache covers start-up only"
fi

kill -TERM "$pid"
wait "$pid" || true
if [[ ! -s "$OUT_HOST" ]]; then
  echo "training: no AOT cache was written; the end of the broker's log ($LOG):" >&2
  tail -n 40 "$LOG" >&2
  exit 1
fi
echo "training: AOT cache written ($(du -h "$OUT_HOST" | cut -f1))"
