#!/usr/bin/env bash
# Time from process start to readiness 200 (/actuator/health/readiness on the management port), with and without
# a JDK 25 AOT cache, for the broker started the way the sidecar image starts it: the Spring Boot jar extracted (so
# its classes load from the class path and can be stored in the AOT cache), the image's JVM flags, the image's
# file-backend fixture (sidecar-image/lib/make-fixture.sh) and a cache made by the image's own training run
# (sidecar-image/lib/train.sh). Also prints the resident memory right after one mTLS request.
#
#   scripts/measure-startup.sh [--java JAVA] [--runs N] [--results FILE] [--keep DIR] [--cpu N]
#   scripts/measure-startup.sh [JAVA [RUNS]]          (the older form)
#
#   --java     the java to measure (default /usr/lib/jvm/temurin-25-jdk-amd64/bin/java); below JDK 25 there is no
#              AOT cache and only the start without one is measured
#   --runs     starts per variant, with and without the cache taking turns (default 3); the median is reported
#   --results  also append the figures as key=value lines to FILE (scripts/bench.sh reads them)
#   --keep     keep the extracted broker, the AOT cache and the JVM flags (file jvm-flags) in DIR, for
#              scripts/bench.sh to start its broker from, instead of a temporary folder
#   --cpu      start each measured broker under taskset -c N (one core, as the chart's CPU limit gives it; the
#              training run is not measured and is not pinned)
#
# Needs broker/target/keybroker.jar (./mvnw -pl broker -am package -DskipTests), curl, openssl, python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
RUNS=3
RESULTS=""
KEEP=""
CPU=""
if [[ $# -gt 0 && "$1" != --* ]]; then
  JAVA="$1"; RUNS="${2:-3}"; shift $(( $# >= 2 ? 2 : 1 ))
fi
while [[ $# -gt 0 ]]; do
  case "$1" in
    --java) JAVA="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --results) RESULTS="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    --cpu) CPU="$2"; shift 2 ;;
    *) echo "measure-startup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
JAR="$ROOT/broker/target/keybroker.jar"
[[ -f "$JAR" ]] || { echo "measure-startup.sh: no $JAR; build it with ./mvnw -pl broker -am package -DskipTests" >&2; exit 1; }

# The image's JVM flags and the chart's memory limit (FLAGS), shared with scripts/bench-quick.sh.
source "$ROOT/scripts/lib/broker-jvm-flags.sh"

if [[ -n "$KEEP" ]]; then DIR="$KEEP"; mkdir -p "$DIR"; else DIR="$(mktemp -d)"; trap 'rm -rf "$DIR"' EXIT; fi
DIR="$(cd "$DIR" && pwd)"
printf '%s\n' "${FLAGS[@]}" >"$DIR/jvm-flags"
put() { [[ -z "$RESULTS" ]] || echo "$1=$2" >>"$RESULTS"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

major="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
java_line="$("$JAVA" -version 2>&1 | sed -n 2p)"
aot=false; [[ "${major%%.*}" -ge 25 ]] && aot=true

rm -rf "$DIR/app" "$DIR/fixture"
"$JAVA" -Djarmode=tools -jar "$JAR" extract --destination "$DIR/app" >/dev/null
"$ROOT/sidecar-image/lib/make-fixture.sh" "$DIR/fixture"
if $aot; then
  rm -f "$DIR/keybroker.aot"
  TRAIN_JAVA="$JAVA" TRAIN_JVM_FLAGS="${FLAGS[*]}" TRAIN_JAR="$DIR/app/keybroker.jar" TRAIN_FIXTURE="$DIR/fixture" \
    TRAIN_OUT="$DIR/keybroker.aot" TRAIN_LOG="$DIR/training.log" "$ROOT/sidecar-image/lib/train.sh" | sed 's/^/    /'
fi

# start VARIANT RUN: one start to readiness; prints "MS RSS_MIB"
start() {
  local variant="$1" run="$2" api mgmt t0 pid ready rss extra=() pin=()
  api="$(free_port)"; mgmt="$(free_port)"
  [[ "$variant" == aot ]] && extra=(-XX:AOTCache="$DIR/keybroker.aot" -XX:AOTMode=on)
  [[ -n "$CPU" ]] && pin=(taskset -c "$CPU")
  t0=$(date +%s%N)
  "${pin[@]}" "$JAVA" "${extra[@]}" "${FLAGS[@]}" -jar "$DIR/app/keybroker.jar" \
    --keybroker.environment=prod --keybroker.backend=file --keybroker.file.path="$DIR/fixture/secrets/secrets.yaml" \
    --keybroker.tls.certificate="$DIR/fixture/tls/tls.crt" --keybroker.tls.private-key="$DIR/fixture/tls/tls.key" \
    --keybroker.tls.trust-bundle="$DIR/fixture/tls/ca.crt" --keybroker.policy.dir="$DIR/fixture/policy" \
    --keybroker.audit.file="$DIR/audit-$variant-$run.jsonl" \
    --keybroker.listen.port="$api" --keybroker.management.port="$mgmt" >"$DIR/start-$variant-$run.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$mgmt/actuator/health/readiness"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "measure-startup.sh: the broker exited before it was ready ($variant); its log:" >&2
      tail -n 30 "$DIR/start-$variant-$run.log" >&2
      return 1
    fi
    sleep 0.01
  done
  ready=$(( ($(date +%s%N) - t0) / 1000000 ))
  curl -sf -o /dev/null --cacert "$DIR/fixture/tls/ca.crt" --cert "$DIR/fixture/client/tls.crt" \
    --key "$DIR/fixture/client/tls.key" "https://127.0.0.1:$api/v1/secrets/stripe/secret-key" \
    || echo "measure-startup.sh: warning: the first mTLS request failed ($variant)" >&2
  rss=$(awk '/^VmRSS/ {print int($2/1024)}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$ready $rss"
}

variants=(noaot); $aot && variants=(aot noaot)
declare -A times rsses
for run in $(seq 1 "$RUNS"); do
  for variant in "${variants[@]}"; do
    read -r ms rss < <(start "$variant" "$run")
    [[ -n "$ms" ]] || exit 1
    times[$variant]+="$ms "; rsses[$variant]+="$rss "
    echo "run $run, $( [[ $variant == aot ]] && echo 'with the AOT cache   ' || echo 'without an AOT cache ' ): ready in $ms ms, RSS after one request $rss MiB"
  done
done
echo "java: $java_line; flags: ${FLAGS[*]}${CPU:+; pinned to CPU $CPU}"
put startup.java "$java_line"
put startup.cpu "${CPU:-unpinned}"
put startup.max_ram_mib "$MAX_RAM_MIB"
put startup.runs "$RUNS"
for variant in "${variants[@]}"; do
  ms_list="${times[$variant]% }"
  med="$(tr ' ' '\n' <<<"$ms_list" | median)"
  min="$(tr ' ' '\n' <<<"$ms_list" | sort -n | head -n1)"
  max="$(tr ' ' '\n' <<<"$ms_list" | sort -n | tail -n1)"
  rss_med="$(tr ' ' '\n' <<<"${rsses[$variant]% }" | median)"
  echo "$variant: median $med ms (min $min, max $max over $RUNS starts), RSS after one request $rss_med MiB"
  put "startup.$variant.median_ms" "$med"; put "startup.$variant.min_ms" "$min"; put "startup.$variant.max_ms" "$max"
  put "startup.$variant.all_ms" "$ms_list"; put "startup.$variant.rss_mib" "$rss_med"
done
