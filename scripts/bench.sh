#!/usr/bin/env bash
# The benchmark of docs/performance.md, run by hand (never by CI or scripts/test.sh): one command, one run, every
# peer on this machine with the same secret value and the same load, and the table written into
# docs/performance.md between its "bench:begin" and "bench:end" markers.
#
#   scripts/bench.sh [--no-doc] [--keep DIR]
#
#   --no-doc   print the figures but leave docs/performance.md alone
#   --keep     keep the run's folder (logs, results, audit file) in DIR instead of deleting it
#
# Peers, all on loopback:
#   keybroker  the broker jar on JDK 25 as the sidecar image starts it (extracted jar, the image's JVM flags, the
#              image's AOT training), development-mode certificates, aws backend on moto, cached reads over mTLS:
#              GET /v1/secrets/stripe/secret-key
#   agent      AWS Secrets Manager Agent 2.1.0 (scripts/install-tools.sh --with-bench) on moto, its default
#              cache (ttl 300 s), plain HTTP: GET /secretsmanager/get?secretId=...
#   openbao    OpenBao dev server, direct KV v2 reads: GET /v1/secret/data/... with X-Vault-Token
#   moto       moto, direct GetSecretValue (AWS JSON protocol; moto does not check the fixed signature)
# Then, Keybroker only: resident memory with 1,000 cached secrets read round-robin; start to readiness with and
# without the AOT cache (scripts/measure-startup.sh); backend calls when K clients hit a cold secret or a refresh
# at once (keybroker_backend_calls_total on the management port); what the Stripe proxy adds to a call: stripe-mock's
# GET /v1/balance at BENCH_STRIPE_RATE, directly with the key and through GET /stripe/v1/balance.
#
# Knobs (environment): BENCH_CONNECTIONS (16), BENCH_WARMUP (5 s: the JIT needs it), BENCH_DURATION (8 s per figure),
# BENCH_COMMON_RATE (1000 req/s), BENCH_SECRETS (1000), BENCH_NEW_CONNECTIONS (200 full handshakes), BENCH_STARTUP_RUNS (3), BENCH_BURST_CLIENTS ("1 16 256"),
# BENCH_STRIPE_RATE (500 req/s), BENCH_JAVA (JDK 25 java), BENCH_PEERS ("agent openbao moto": the peers measured besides Keybroker). Peers are looked up in $KEYBROKER_TOOLS_BIN, then <repo>/.tools/bin, then PATH.
# About 4 to 5 minutes on a 2-core machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
T_START=$SECONDS
WRITE_DOC=true
KEEP=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-doc) WRITE_DOC=false; shift ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (use --no-doc, --keep DIR)" >&2; exit 2 ;;
  esac
done
JAVA="${BENCH_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
WARMUP="${BENCH_WARMUP:-5}"
DURATION="${BENCH_DURATION:-8}"
COMMON_RATE="${BENCH_COMMON_RATE:-1000}"
SECRETS="${BENCH_SECRETS:-1000}"
NEW_CONNECTIONS="${BENCH_NEW_CONNECTIONS:-200}"
STARTUP_RUNS="${BENCH_STARTUP_RUNS:-3}"
BURST_CLIENTS="${BENCH_BURST_CLIENTS:-1 16 256}"
STRIPE_RATE="${BENCH_STRIPE_RATE:-500}"
PEERS=" ${BENCH_PEERS:-agent openbao moto} "
peer() { [[ "$PEERS" == *" $1 "* ]]; }
CLK_TCK="$(getconf CLK_TCK)"

say() { printf '[bench] %s\n' "$*"; }
die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }
tool() {
  local dir
  for dir in "${KEYBROKER_TOOLS_BIN:-}" "$ROOT/.tools/bin"; do
    [[ -n "$dir" && -x "$dir/$1" ]] && { echo "$dir/$1"; return; }
  done
  command -v "$1" || die "$1 not found: run scripts/install-tools.sh${2:+ $2} (or set KEYBROKER_TOOLS_BIN)"
}
MOTO="$(tool moto_server)"
BAO="$(tool bao)"
STRIPE_MOCK="$(tool stripe-mock)"
AGENT=""; peer agent && AGENT="$(tool aws_secretsmanager_agent --with-bench)"
for t in curl python3 openssl; do command -v "$t" >/dev/null || die "$t is needed"; done
[[ -x "$JAVA" ]] || die "no JDK 25 java at $JAVA (set BENCH_JAVA)"

# ---- build what is missing ------------------------------------------------------------------------------------
# A jar older than its sources would measure the wrong broker: rebuild it then too.
if [[ ! -f broker/target/keybroker.jar ]] || [[ -n "$(find broker/src broker/pom.xml pom.xml -newer broker/target/keybroker.jar -print -quit)" ]]; then
  say "building broker/target/keybroker.jar"
  ./mvnw -B -ntp -q -pl broker -am package -DskipTests
fi
if [[ ! -f bench/target/keybroker-bench.jar ]] || [[ -n "$(find bench/src bench/pom.xml -newer bench/target/keybroker-bench.jar -print -quit)" ]]; then
  say "building bench/target/keybroker-bench.jar"
  ./mvnw -B -ntp -q -pl bench package
fi
LOADGEN=("$JAVA" -XX:+UseSerialGC -Xms64m -Xmx256m -XX:-UsePerfData -jar "$ROOT/bench/target/keybroker-bench.jar")

# ---- the run's folder and the processes it starts -------------------------------------------------------------
if [[ -n "$KEEP" ]]; then W="$KEEP"; rm -rf "$W"; mkdir -p "$W"; else W="$(mktemp -d /tmp/keybroker-bench.XXXXXX)"; fi
W="$(cd "$W" && pwd)"
R="$W/results"
: >"$R"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n "$KEEP" ]] || rm -rf "$W"
}
trap cleanup EXIT
put() { echo "$1=$2" >>"$R"; }
get() { sed -n "s/^$1=//p" "$R" | tail -n1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for NAME PID URL [CURL ARGS...]: until URL answers 200, or the process dies, or 60 s pass
wait_for() {
  local name="$1" pid="$2" url="$3" deadline=$((SECONDS + 60)); shift 3
  until curl -sf -o /dev/null "$@" "$url"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$W/$name.log" >&2; die "$name exited before it was ready"; }
    ((SECONDS < deadline)) || { tail -n 30 "$W/$name.log" >&2; die "$name was not ready within 60 s"; }
    sleep 0.1
  done
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- the machine ------------------------------------------------------------------------------------------------
put run.date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
put run.command "scripts/bench.sh"
put run.settings "connections=$CONNECTIONS warmup=${WARMUP}s duration=${DURATION}s common_rate=$COMMON_RATE secrets=$SECRETS startup_runs=$STARTUP_RUNS"
put machine.nproc "$(nproc)"
put machine.cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
put machine.memory_gib "$(awk '/^MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)"
put machine.kernel "$(uname -sr)"
put machine.load_before "$(loadavg)"
put jdk.broker "$("$JAVA" -version 2>&1 | sed -n 2p)"
put jdk.build "$(java -version 2>&1 | sed -n 2p) (./mvnw, release 17)"
put version.moto "$("$(dirname "$(readlink -f "$MOTO")")/python" -c 'from importlib.metadata import version; print(version("moto"))' 2>/dev/null || echo '?')"
put version.openbao "$("$BAO" version 2>/dev/null | head -n1 | awk '{print $2}')"
peer agent && agent_version="$(grep -ho '^"aws_secretsmanager_agent [^ ]*' "$(dirname "$(readlink -f "$AGENT")")/../.crates.toml" 2>/dev/null | cut -d' ' -f2)"
put version.agent "${agent_version:-?}"
put run.peers "keybroker$PEERS"
put clients.connections "$CONNECTIONS"
say "load average before: $(loadavg) on $(nproc) cores"

# ---- 1. start to readiness (the same script as a developer's own measurement) ---------------------------------
say "start to readiness, $STARTUP_RUNS starts with and without the AOT cache (scripts/measure-startup.sh)"
scripts/measure-startup.sh --java "$JAVA" --runs "$STARTUP_RUNS" --results "$R" --keep "$W/startup" | sed 's/^/    /'
mapfile -t JVM_FLAGS <"$W/startup/jvm-flags"
put jvm.flags "${JVM_FLAGS[*]} -XX:AOTCache=keybroker.aot"

# ---- 2. backends: moto and OpenBao with the same secret --------------------------------------------------------
SECRET_ID=prod/stripe/secret-key
umask 077
# No '_' after sk_test_: stripe-mock (step 7) refuses such a key with 401.
python3 -c 'import secrets, string; print("sk_test_bench" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32)))' >"$W/secret-value"
MOTO_PORT="$(free_port)"
"$MOTO" -H 127.0.0.1 -p "$MOTO_PORT" >"$W/moto.log" 2>&1 &
MOTO_PID=$!; PIDS+=("$MOTO_PID")
BAO_PORT="$(free_port)"
"$BAO" server -dev -dev-root-token-id=ROOT -dev-listen-address="127.0.0.1:$BAO_PORT" >"$W/openbao.log" 2>&1 &
BAO_PID=$!; PIDS+=("$BAO_PID")
STRIPE_PORT="$(free_port)"
"$STRIPE_MOCK" -http-addr "127.0.0.1:$STRIPE_PORT" >"$W/stripe-mock.log" 2>&1 &
STRIPE_PID=$!; PIDS+=("$STRIPE_PID")
wait_for moto "$MOTO_PID" "http://127.0.0.1:$MOTO_PORT/moto-api/"
wait_for openbao "$BAO_PID" "http://127.0.0.1:$BAO_PORT/v1/sys/health"
cold=()
for k in $BURST_CLIENTS; do cold+=(--extra "prod/bench/cold-$k"); done
"${LOADGEN[@]}" setup-moto --endpoint "http://127.0.0.1:$MOTO_PORT" --name "$SECRET_ID" --value-file "$W/secret-value" \
  --bulk-prefix prod/bench/s --bulk-count "$SECRETS" "${cold[@]}" --extra prod/bench/refresh
"${LOADGEN[@]}" setup-bao --endpoint "http://127.0.0.1:$BAO_PORT" --token ROOT --path "$SECRET_ID" --value-file "$W/secret-value"

# ---- 3. the agent and the broker, both on moto ------------------------------------------------------------------
if peer agent; then
  AGENT_PORT="$(free_port)"
  mkdir -p "$W/agent"
  printf 'http_port = %s\nregion = "us-east-1"\n' "$AGENT_PORT" >"$W/agent/agent.toml"
  ( cd "$W/agent" && exec env AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=testing \
      AWS_SECRET_ACCESS_KEY=testing AWS_TOKEN=bench-token "$AGENT" --config agent.toml ) >"$W/agent.log" 2>&1 &
  AGENT_PID=$!; PIDS+=("$AGENT_PID")
fi

KB_PORT="$(free_port)"; KB_MGMT="$(free_port)"
mkdir -p "$W/policy"
cat >"$W/policy/bench.yaml" <<'YAML'
# The benchmark's policy: development mode's client identity, no rate limit (the load is the point).
apiVersion: keybroker/v1
kind: Policy
metadata:
  name: bench
spec:
  workloads:
    - identity: spiffe://keybroker.dev/ns/payments/sa/checkout
      application: checkout
      allow:
        - secrets: [stripe/secret-key]
          stages: [current, previous]
        - secrets: [bench/**]
          stages: [current]
      stripe:
        key: stripe/secret-key
        calls: [GET /v1/balance]
YAML
# Development mode only for its certificates (the client's PEM files in $W/dev); every backend setting is explicit.
# cache.ttl 15m: no refresh-ahead read (at 80 % of the ttl) of the load test's secrets during the run, so the
# backend-call counter of step 6 moves only for the bursts it measures.
env AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  "$JAVA" -XX:AOTCache="$W/startup/keybroker.aot" -XX:AOTMode=on "${JVM_FLAGS[@]}" -jar "$W/startup/app/keybroker.jar" \
  --keybroker.dev=true --keybroker.dev-dir="$W/dev" --keybroker.environment=prod --keybroker.backend=aws \
  --keybroker.aws.region=us-east-1 --keybroker.aws.endpoint="http://127.0.0.1:$MOTO_PORT" \
  --keybroker.policy.dir="$W/policy" --keybroker.audit.file="$W/audit.jsonl" --keybroker.cache.ttl=15m \
  --keybroker.rotation.poll-interval=30s --keybroker.listen.port="$KB_PORT" --keybroker.management.port="$KB_MGMT" \
  --keybroker.stripe.api-base="http://127.0.0.1:$STRIPE_PORT" \
  >"$W/keybroker.log" 2>&1 &
KB_PID=$!; PIDS+=("$KB_PID")
if peer agent; then
  wait_for agent "$AGENT_PID" "http://127.0.0.1:$AGENT_PORT/secretsmanager/get?secretId=$SECRET_ID" \
    -H "X-Aws-Parameters-Secrets-Token: bench-token"
fi
wait_for keybroker "$KB_PID" "http://127.0.0.1:$KB_MGMT/actuator/health/readiness"
MTLS=(--ca "$W/dev/ca.pem" --cert "$W/dev/client.pem" --key "$W/dev/client-key.pem")
say "peers up: keybroker pid $KB_PID, agent ${AGENT_PID:-(not measured)}, openbao $BAO_PID, moto $MOTO_PID"

# ---- 4. the same load on every peer -----------------------------------------------------------------------------
LOAD=(load --results "$R" --clk-tck "$CLK_TCK" --connections "$CONNECTIONS" --warmup "$WARMUP" --duration "$DURATION"
      --rate-common "$COMMON_RATE" --expect-file "$W/secret-value")
"${LOADGEN[@]}" "${LOAD[@]}" --label keybroker --pid "$KB_PID" --rate-half auto --new-connections "$NEW_CONNECTIONS" \
  --url "https://127.0.0.1:$KB_PORT/v1/secrets/stripe/secret-key" "${MTLS[@]}"
HALF="$(get keybroker.half.target)"
peer agent && "${LOADGEN[@]}" "${LOAD[@]}" --label agent --pid "$AGENT_PID" --rate-half "$HALF" \
  --url "http://127.0.0.1:$AGENT_PORT/secretsmanager/get?secretId=$SECRET_ID" \
  --header "X-Aws-Parameters-Secrets-Token:bench-token"
peer openbao && "${LOADGEN[@]}" "${LOAD[@]}" --label openbao --pid "$BAO_PID" --rate-half "$HALF" \
  --url "http://127.0.0.1:$BAO_PORT/v1/secret/data/$SECRET_ID" --header "X-Vault-Token:ROOT"
moto_headers=(--header "Content-Type:application/x-amz-json-1.1" --header "X-Amz-Target:secretsmanager.GetSecretValue"
  --header "X-Amz-Date:20260101T000000Z"
  --header "Authorization:AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=$(printf '0%.0s' {1..64})")
peer moto && "${LOADGEN[@]}" "${LOAD[@]}" --label moto --pid "$MOTO_PID" --rate-half "$HALF" \
  --url "http://127.0.0.1:$MOTO_PORT/" --method POST --body "{\"SecretId\":\"$SECRET_ID\"}" "${moto_headers[@]}"

# ---- 5. Keybroker with 1,000 cached secrets, read round-robin ---------------------------------------------------
"${LOADGEN[@]}" load --results "$R" --clk-tck "$CLK_TCK" --connections "$CONNECTIONS" --warmup 0 --duration "$DURATION" \
  --label keybroker_many --pid "$KB_PID" --each true --count "$SECRETS" \
  --url "https://127.0.0.1:$KB_PORT/v1/secrets/bench/s%04d" "${MTLS[@]}"
put keybroker_many.secrets "$SECRETS"

# ---- 6. one backend call per secret, whatever the concurrency -------------------------------------------------
BURST=(burst --results "$R" --metrics "http://127.0.0.1:$KB_MGMT/actuator/prometheus" "${MTLS[@]}")
for k in $BURST_CLIENTS; do
  "${LOADGEN[@]}" "${BURST[@]}" --label "burst_cold_$k" --clients "$k" \
    --url "https://127.0.0.1:$KB_PORT/v1/secrets/bench/cold-$k"
done
last="${BURST_CLIENTS##* }"
curl -sf -o /dev/null --cacert "$W/dev/ca.pem" --cert "$W/dev/client.pem" --key "$W/dev/client-key.pem" \
  "https://127.0.0.1:$KB_PORT/v1/secrets/bench/refresh" || die "could not read bench/refresh before its refresh burst"
"${LOADGEN[@]}" "${BURST[@]}" --label "burst_refresh_$last" --clients "$last" --method POST \
  --url "https://127.0.0.1:$KB_PORT/v1/secrets/bench/refresh/refresh"
put burst.clients "$BURST_CLIENTS"

# ---- 7. what the Stripe proxy adds: the same call, at the same fixed rate, directly and through the broker --------
# stripe-mock answers sk_test_ keys; the bench's throw-away key is one. Both loads keep their connections alive.
wait_for stripe-mock "$STRIPE_PID" "http://127.0.0.1:$STRIPE_PORT/v1/balance" -H "Authorization: Bearer $(cat "$W/secret-value")"
STRIPE_LOAD=(load --results "$R" --clk-tck "$CLK_TCK" --connections "$CONNECTIONS" --warmup "$WARMUP"
             --duration "$DURATION" --rate-common "$STRIPE_RATE")
"${LOADGEN[@]}" "${STRIPE_LOAD[@]}" --label stripe_direct --pid "$STRIPE_PID" \
  --url "http://127.0.0.1:$STRIPE_PORT/v1/balance" --header "Authorization:Bearer $(cat "$W/secret-value")"
"${LOADGEN[@]}" "${STRIPE_LOAD[@]}" --label stripe_proxy --pid "$KB_PID" \
  --url "https://127.0.0.1:$KB_PORT/stripe/v1/balance" "${MTLS[@]}"

# ---- report -----------------------------------------------------------------------------------------------------
put machine.load_after "$(loadavg)"
put run.seconds "$((SECONDS - T_START))"
say "load average after: $(loadavg); took $((SECONDS - T_START)) s"
if $WRITE_DOC; then
  "${LOADGEN[@]}" report --results "$R" --doc "$ROOT/docs/performance.md"
  say "wrote docs/performance.md"
else
  "${LOADGEN[@]}" report --results "$R" --doc -
fi
