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
#   nginx      nginx 1.22 (scripts/install-tools.sh --with-bench) serving a copy of Keybroker's answer as a static file
#              over the same mTLS (TLS 1.3, client certificate required): the load generator's ceiling, so a reader
#              sees when the load generator, not the server, is the limit
# Then, Keybroker only: resident memory with 1,000 cached secrets read round-robin; start to readiness with and
# without the AOT cache (scripts/measure-startup.sh); backend calls when K clients hit a cold secret or a refresh
# at once (keybroker_backend_calls_total on the management port); what the Stripe proxy adds to a call: stripe-mock's
# GET /v1/balance at BENCH_STRIPE_RATE, directly with the key and through GET /stripe/v1/balance; proportional set
# size (PSS) of 4 brokers sharing one AOT cache; overload: BENCH_OVERLOAD_CONNECTIONS connections at twice the max
# throughput, open loop, where every request must get 200 or 503 with Retry-After.
#
# Pinning (BENCH_PIN=true, the default): every measured server (keybroker, agent, openbao, moto, nginx) runs under
# taskset -c BENCH_SERVER_CPU (0), the load generator under taskset -c BENCH_LOADGEN_CPU (1): one core for the
# server, as the chart's CPU limit gives the sidecar, and the load generator never competes with it. stripe-mock
# is not pinned. Below 2 cores pinning is turned off (with a message).
#
# Knobs (environment): BENCH_CONNECTIONS (16), BENCH_WARMUP (5 s: the JIT needs it), BENCH_DURATION (8 s per figure),
# BENCH_COMMON_RATE (1000 req/s), BENCH_SECRETS (1000), BENCH_NEW_CONNECTIONS (200 full handshakes), BENCH_STARTUP_RUNS (3), BENCH_BURST_CLIENTS ("1 16 256"),
# BENCH_STRIPE_RATE (500 req/s), BENCH_JAVA (JDK 25 java), BENCH_PEERS ("agent openbao moto nginx": the peers measured besides Keybroker),
# BENCH_PIN (true), BENCH_SERVER_CPU (0), BENCH_LOADGEN_CPU (1), BENCH_OVERLOAD_CONNECTIONS (256), BENCH_PSS_BROKERS (4).
# Peers are looked up in $KEYBROKER_TOOLS_BIN, then <repo>/.tools/bin, then PATH.
# About 5 minutes on a 2-core machine (4 before the PSS and overload steps were added; not yet timed with them).
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
PEERS=" ${BENCH_PEERS:-agent openbao moto nginx} "
PIN="${BENCH_PIN:-true}"
SERVER_CPU="${BENCH_SERVER_CPU:-0}"
LOADGEN_CPU="${BENCH_LOADGEN_CPU:-1}"
OVERLOAD_CONNECTIONS="${BENCH_OVERLOAD_CONNECTIONS:-256}"
PSS_BROKERS="${BENCH_PSS_BROKERS:-4}"
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
NGINX=""; peer nginx && NGINX="$(tool nginx --with-bench)"
for t in curl python3 openssl; do command -v "$t" >/dev/null || die "$t is needed"; done
[[ -x "$JAVA" ]] || die "no JDK 25 java at $JAVA (set BENCH_JAVA)"

# ---- build what is missing ------------------------------------------------------------------------------------
# A jar older than its sources would measure the wrong broker: rebuild it then too.
if [[ ! -f broker/target/keybroker.jar ]] || [[ -n "$(find broker/src broker/pom.xml pom.xml -newer broker/target/keybroker.jar -print -quit)" ]]; then
  say "building broker/target/keybroker.jar"
  ./mvnw -B -ntp -q -pl broker -am package -DskipTests
  # The build stamps the jar with the project's fixed output timestamp: mark it as built now, or the check above
  # would find the sources newer on every run and rebuild it each time.
  touch broker/target/keybroker.jar
fi
if [[ ! -f bench/target/keybroker-bench.jar ]] || [[ -n "$(find bench/src bench/pom.xml -newer bench/target/keybroker-bench.jar -print -quit)" ]]; then
  say "building bench/target/keybroker-bench.jar"
  ./mvnw -B -ntp -q -pl bench package
fi
LOADGEN=("$JAVA" -XX:+UseSerialGC -Xms64m -Xmx256m -XX:-UsePerfData -jar "$ROOT/bench/target/keybroker-bench.jar")

# ---- pinning: one core for the measured server, the other for the load generator ------------------------------
SRVPIN=(); LGPIN=()
if [[ "$PIN" == true ]]; then
  if (( $(nproc) < 2 )); then
    say "pinning off: $(nproc) core here, one for the server and one for the load generator needs 2"
    PIN=false
  elif [[ "$SERVER_CPU" == "$LOADGEN_CPU" ]]; then
    die "BENCH_SERVER_CPU and BENCH_LOADGEN_CPU are both $SERVER_CPU: pinning means a core each"
  else
    command -v taskset >/dev/null || die "taskset is needed for pinning (util-linux), or set BENCH_PIN=false"
    SRVPIN=(taskset -c "$SERVER_CPU"); LGPIN=(taskset -c "$LOADGEN_CPU")
  fi
fi
# The load generator of the measured phases (load, overload, burst); set-up and report need no core of their own.
LG=("${LGPIN[@]}" "${LOADGEN[@]}")

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
put run.settings "connections=$CONNECTIONS warmup=${WARMUP}s duration=${DURATION}s common_rate=$COMMON_RATE secrets=$SECRETS startup_runs=$STARTUP_RUNS overload_connections=$OVERLOAD_CONNECTIONS pss_brokers=$PSS_BROKERS"
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
if [[ "$PIN" == true ]]; then
  put run.pin "every measured server on CPU $SERVER_CPU (taskset), the load generator on CPU $LOADGEN_CPU; stripe-mock not pinned"
else
  put run.pin "off: servers and load generator share all $(nproc) cores"
fi
put clients.connections "$CONNECTIONS"
say "load average before: $(loadavg) on $(nproc) cores"

# ---- 1. start to readiness (the same script as a developer's own measurement) ---------------------------------
say "start to readiness, $STARTUP_RUNS starts with and without the AOT cache (scripts/measure-startup.sh)"
startup_pin=(); [[ "$PIN" == true ]] && startup_pin=(--cpu "$SERVER_CPU")
scripts/measure-startup.sh --java "$JAVA" --runs "$STARTUP_RUNS" --results "$R" --keep "$W/startup" "${startup_pin[@]}" \
  | sed 's/^/    /'
mapfile -t JVM_FLAGS <"$W/startup/jvm-flags"
put jvm.flags "${JVM_FLAGS[*]} -XX:AOTCache=keybroker.aot"

# ---- 2. backends: moto and OpenBao with the same secret --------------------------------------------------------
SECRET_ID=prod/stripe/secret-key
umask 077
# No '_' after sk_test_: stripe-mock (step 7) refuses such a key with 401.
python3 -c 'import secrets, string; print("sk_test_bench" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32)))' >"$W/secret-value"
MOTO_PORT="$(free_port)"
"${SRVPIN[@]}" "$MOTO" -H 127.0.0.1 -p "$MOTO_PORT" >"$W/moto.log" 2>&1 &
MOTO_PID=$!; PIDS+=("$MOTO_PID")
BAO_PORT="$(free_port)"
"${SRVPIN[@]}" "$BAO" server -dev -dev-root-token-id=ROOT -dev-listen-address="127.0.0.1:$BAO_PORT" >"$W/openbao.log" 2>&1 &
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
  ( cd "$W/agent" && exec "${SRVPIN[@]}" env AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=testing \
      AWS_SECRET_ACCESS_KEY=testing AWS_TOKEN=bench-token "$AGENT" --config agent.toml ) >"$W/agent.log" 2>&1 &
  AGENT_PID=$!; PIDS+=("$AGENT_PID")
fi

KB_PORT="$(free_port)"; KB_MGMT="$(free_port)"
mkdir -p "$W/policy"
cp "$ROOT/scripts/lib/bench-policy.yaml" "$W/policy/bench.yaml"
# Development mode only for its certificates (the client's PEM files in $W/dev); every backend setting is explicit.
# cache.ttl 15m: no refresh-ahead read (at 80 % of the ttl) of the load test's secrets during the run, so the
# backend-call counter of step 6 moves only for the bursts it measures.
# start_broker NAME DEV_DIR AUDIT_FILE PORT MGMT_PORT: one broker as the image starts it, pinned like every server;
# the PSS step (8) starts more of them exactly like the first, on the same AOT cache file.
start_broker() {
  env AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    "${SRVPIN[@]}" "$JAVA" -XX:AOTCache="$W/startup/keybroker.aot" -XX:AOTMode=on "${JVM_FLAGS[@]}" \
    -jar "$W/startup/app/keybroker.jar" \
    --keybroker.dev=true --keybroker.dev-dir="$2" --keybroker.environment=prod --keybroker.backend=aws \
    --keybroker.aws.region=us-east-1 --keybroker.aws.endpoint="http://127.0.0.1:$MOTO_PORT" \
    --keybroker.policy.dir="$W/policy" --keybroker.audit.file="$3" --keybroker.cache.ttl=15m \
    --keybroker.rotation.poll-interval=30s --keybroker.listen.port="$4" --keybroker.management.port="$5" \
    --keybroker.stripe.api-base="http://127.0.0.1:$STRIPE_PORT" \
    >"$W/$1.log" 2>&1 &
}
start_broker keybroker "$W/dev" "$W/audit.jsonl" "$KB_PORT" "$KB_MGMT"
KB_PID=$!; PIDS+=("$KB_PID")
if peer agent; then
  wait_for agent "$AGENT_PID" "http://127.0.0.1:$AGENT_PORT/secretsmanager/get?secretId=$SECRET_ID" \
    -H "X-Aws-Parameters-Secrets-Token: bench-token"
fi
wait_for keybroker "$KB_PID" "http://127.0.0.1:$KB_MGMT/actuator/health/readiness"
MTLS=(--ca "$W/dev/ca.pem" --cert "$W/dev/client.pem" --key "$W/dev/client-key.pem")
CURL_MTLS=(--cacert "$W/dev/ca.pem" --cert "$W/dev/client.pem" --key "$W/dev/client-key.pem")

# nginx: Keybroker's own answer (one read now, into a file only this user can read) served as a static file, with
# Keybroker's development-mode server certificate and the same client-certificate check, so the load generator
# does the same TLS and HTTP work as against Keybroker and the server does almost none.
if peer nginx; then
  NGINX_PORT="$(free_port)"
  N="$W/nginx"
  mkdir -p "$N/tmp"
  curl -sf -o "$N/answer.json" "${CURL_MTLS[@]}" "https://127.0.0.1:$KB_PORT/v1/secrets/stripe/secret-key" \
    || die "could not read Keybroker's answer for nginx to serve"
  cat >"$N/nginx.conf" <<NGINX
# The bench's static mTLS server: one process, one worker, nothing logged per request.
daemon off;
master_process off;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $N/tmp/body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $W/dev/server.pem;
    ssl_certificate_key $W/dev/server-key.pem;
    ssl_protocols TLSv1.3;
    ssl_verify_client on;
    ssl_client_certificate $W/dev/ca.pem;
    location = /v1/secrets/stripe/secret-key {
      default_type application/json;
      alias $N/answer.json;
    }
  }
}
NGINX
  "${SRVPIN[@]}" "$NGINX" -p "$N" -c "$N/nginx.conf" -e "$N/error.log" >"$W/nginx.log" 2>&1 &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  wait_for nginx "$NGINX_PID" "https://127.0.0.1:$NGINX_PORT/v1/secrets/stripe/secret-key" "${CURL_MTLS[@]}"
  put version.nginx "$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
fi
say "peers up: keybroker pid $KB_PID, agent ${AGENT_PID:-(not measured)}, openbao $BAO_PID, moto $MOTO_PID, nginx ${NGINX_PID:-(not measured)}"

# ---- 4. the same load on every peer -----------------------------------------------------------------------------
LOAD=(load --results "$R" --clk-tck "$CLK_TCK" --connections "$CONNECTIONS" --warmup "$WARMUP" --duration "$DURATION"
      --rate-common "$COMMON_RATE" --expect-file "$W/secret-value")
"${LG[@]}" "${LOAD[@]}" --label keybroker --pid "$KB_PID" --rate-half auto --new-connections "$NEW_CONNECTIONS" \
  --audit-file "$W/audit.jsonl" --url "https://127.0.0.1:$KB_PORT/v1/secrets/stripe/secret-key" "${MTLS[@]}"
HALF="$(get keybroker.half.target)"
peer agent && "${LG[@]}" "${LOAD[@]}" --label agent --pid "$AGENT_PID" --rate-half "$HALF" \
  --url "http://127.0.0.1:$AGENT_PORT/secretsmanager/get?secretId=$SECRET_ID" \
  --header "X-Aws-Parameters-Secrets-Token:bench-token"
peer openbao && "${LG[@]}" "${LOAD[@]}" --label openbao --pid "$BAO_PID" --rate-half "$HALF" \
  --url "http://127.0.0.1:$BAO_PORT/v1/secret/data/$SECRET_ID" --header "X-Vault-Token:ROOT"
moto_headers=(--header "Content-Type:application/x-amz-json-1.1" --header "X-Amz-Target:secretsmanager.GetSecretValue"
  --header "X-Amz-Date:20260101T000000Z"
  --header "Authorization:AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=$(printf '0%.0s' {1..64})")
peer moto && "${LG[@]}" "${LOAD[@]}" --label moto --pid "$MOTO_PID" --rate-half "$HALF" \
  --url "http://127.0.0.1:$MOTO_PORT/" --method POST --body "{\"SecretId\":\"$SECRET_ID\"}" "${moto_headers[@]}"
peer nginx && "${LG[@]}" "${LOAD[@]}" --label nginx --pid "$NGINX_PID" --rate-half "$HALF" \
  --url "https://127.0.0.1:$NGINX_PORT/v1/secrets/stripe/secret-key" "${MTLS[@]}"

# ---- 5. Keybroker with 1,000 cached secrets, read round-robin ---------------------------------------------------
"${LG[@]}" load --results "$R" --clk-tck "$CLK_TCK" --connections "$CONNECTIONS" --warmup 0 --duration "$DURATION" \
  --label keybroker_many --pid "$KB_PID" --each true --count "$SECRETS" \
  --url "https://127.0.0.1:$KB_PORT/v1/secrets/bench/s%04d" "${MTLS[@]}"
put keybroker_many.secrets "$SECRETS"

# ---- 6. one backend call per secret, whatever the concurrency -------------------------------------------------
BURST=(burst --results "$R" --metrics "http://127.0.0.1:$KB_MGMT/actuator/prometheus" "${MTLS[@]}")
for k in $BURST_CLIENTS; do
  "${LG[@]}" "${BURST[@]}" --label "burst_cold_$k" --clients "$k" \
    --url "https://127.0.0.1:$KB_PORT/v1/secrets/bench/cold-$k"
done
last="${BURST_CLIENTS##* }"
curl -sf -o /dev/null "${CURL_MTLS[@]}" "https://127.0.0.1:$KB_PORT/v1/secrets/bench/refresh" || die "could not read bench/refresh before its refresh burst"
"${LG[@]}" "${BURST[@]}" --label "burst_refresh_$last" --clients "$last" --method POST \
  --url "https://127.0.0.1:$KB_PORT/v1/secrets/bench/refresh/refresh"
put burst.clients "$BURST_CLIENTS"

# ---- 7. what the Stripe proxy adds: the same call, at the same fixed rate, directly and through the broker --------
# stripe-mock answers sk_test_ keys; the bench's throw-away key is one. Both loads keep their connections alive.
wait_for stripe-mock "$STRIPE_PID" "http://127.0.0.1:$STRIPE_PORT/v1/balance" -H "Authorization: Bearer $(cat "$W/secret-value")"
STRIPE_LOAD=(load --results "$R" --clk-tck "$CLK_TCK" --connections "$CONNECTIONS" --warmup "$WARMUP"
             --duration "$DURATION" --rate-common "$STRIPE_RATE")
"${LG[@]}" "${STRIPE_LOAD[@]}" --label stripe_direct --pid "$STRIPE_PID" \
  --url "http://127.0.0.1:$STRIPE_PORT/v1/balance" --header "Authorization:Bearer $(cat "$W/secret-value")"
"${LG[@]}" "${STRIPE_LOAD[@]}" --label stripe_proxy --pid "$KB_PID" \
  --url "https://127.0.0.1:$KB_PORT/stripe/v1/balance" "${MTLS[@]}"

# ---- 8. PSS: several brokers on one node share one AOT cache file --------------------------------------------------
# The extra brokers are started exactly like the first (same flags, same AOT cache file, same policy, aws backend on
# moto), each with its own ports, development-mode folder and audit file, and each gets a short load so its heap and
# code are in use. PSS charges each shared page to the processes mapping it in equal parts: the sum over brokers is
# what the node really holds, and "private" is what one more broker adds.
say "PSS: $PSS_BROKERS brokers sharing $W/startup/keybroker.aot"
PSS_PIDS=("$KB_PID"); PSS_PORTS=("$KB_PORT"); PSS_DEVS=("$W/dev"); PSS_MGMTS=()
for n in $(seq 2 "$PSS_BROKERS"); do
  port="$(free_port)"; mgmt="$(free_port)"
  start_broker "keybroker-$n" "$W/dev-$n" "$W/audit-$n.jsonl" "$port" "$mgmt"
  pid=$!; PIDS+=("$pid")
  PSS_PIDS+=("$pid"); PSS_PORTS+=("$port"); PSS_DEVS+=("$W/dev-$n"); PSS_MGMTS+=("$mgmt")
done
for n in $(seq 2 "$PSS_BROKERS"); do
  wait_for "keybroker-$n" "${PSS_PIDS[n-1]}" "http://127.0.0.1:${PSS_MGMTS[n-2]}/actuator/health/readiness"
done
for n in $(seq 1 "$PSS_BROKERS"); do
  d="${PSS_DEVS[n-1]}"
  "${LG[@]}" load --results "$R" --clk-tck "$CLK_TCK" --connections 4 --warmup 0 --duration 3 \
    --label "keybroker_pss_$n" --pid "${PSS_PIDS[n-1]}" --expect-file "$W/secret-value" \
    --url "https://127.0.0.1:${PSS_PORTS[n-1]}/v1/secrets/stripe/secret-key" \
    --ca "$d/ca.pem" --cert "$d/client.pem" --key "$d/client-key.pem"
done
# smaps_rollup: one read per process, the sums of /proc/PID/smaps (KiB).
for n in $(seq 1 "$PSS_BROKERS"); do
  awk -v n="$n" '
    { v[$1] = $2 }
    END {
      printf "keybroker_pss.%d.rss_kib=%d\n", n, v["Rss:"]
      printf "keybroker_pss.%d.pss_kib=%d\n", n, v["Pss:"]
      printf "keybroker_pss.%d.private_kib=%d\n", n, v["Private_Clean:"] + v["Private_Dirty:"]
      printf "keybroker_pss.%d.shared_kib=%d\n", n, v["Shared_Clean:"] + v["Shared_Dirty:"]
      printf "keybroker_pss.%d.anonymous_kib=%d\n", n, v["Anonymous:"]
    }' "/proc/${PSS_PIDS[n-1]}/smaps_rollup" >>"$R"
done
for f in rss pss private shared anonymous; do
  put "keybroker_pss.mean.${f}_kib" "$(sed -n "s/^keybroker_pss\.[0-9]*\.${f}_kib=//p" "$R" | awk '{s += $1} END {printf "%d", s / NR}')"
done
put keybroker_pss.brokers "$PSS_BROKERS"
say "PSS per broker (mean of $PSS_BROKERS): private $(( $(get keybroker_pss.mean.private_kib) / 1024 )) MiB, PSS $(( $(get keybroker_pss.mean.pss_kib) / 1024 )) MiB, RSS $(( $(get keybroker_pss.mean.rss_kib) / 1024 )) MiB"
for n in $(seq 2 "$PSS_BROKERS"); do kill "${PSS_PIDS[n-1]}" 2>/dev/null || true; done
for n in $(seq 2 "$PSS_BROKERS"); do wait "${PSS_PIDS[n-1]}" 2>/dev/null || true; done

# ---- 9. overload: more than the broker can serve, on many connections ---------------------------------------------
# Open loop at twice the closed-loop max of this run: the schedule does not slow down when the broker does. Every
# request must end as 200 or 503 with Retry-After; the load generator counts everything else (another status, a 503
# without Retry-After, a reset or early close, no answer within 5 s) and keeps the first few for the log.
OVERLOAD_RATE="$(awk -v m="$(get keybroker.max.rps)" 'BEGIN {printf "%d", (2 * m < 1 ? 1 : 2 * m)}')"
"${LG[@]}" overload --results "$R" --clk-tck "$CLK_TCK" --label keybroker_overload --pid "$KB_PID" \
  --connections "$OVERLOAD_CONNECTIONS" --rate "$OVERLOAD_RATE" --duration "$DURATION" --read-timeout 5 \
  --url "https://127.0.0.1:$KB_PORT/v1/secrets/stripe/secret-key" "${MTLS[@]}"
kill -0 "$KB_PID" 2>/dev/null || { tail -n 30 "$W/keybroker.log" >&2; die "keybroker exited during the overload phase"; }

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
