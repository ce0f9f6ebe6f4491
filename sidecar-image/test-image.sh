#!/usr/bin/env bash
# Tests the Keybroker sidecar image in podman (rootful, runc, cgroupfs, vfs):
#
#   sidecar-image/test-image.sh
#
# Loads sidecar-image/target/keybroker-image.tar (building it first with
# build.sh when it is missing), starts it with a read-only root file system,
# a tmpfs only on /tmp and on the audit directory, mounted certificates,
# policy and a file-backend secrets file, on the host network; then checks:
# readiness, a secret served over mTLS with the client certificate
# spiffe://cluster.local/ns/payments/sa/checkout (current and previous
# values), refusals (no client certificate, a name not granted), the process
# UID (65532, not root), the read-only root, the audit line (and no secret
# value in it); and measures the time from container start to ready, with and
# without the AOT cache.
#
# Exit status: 0 when every check passed; 0 with a line starting "SKIP" when
# podman cannot run containers on this machine (the reason is printed);
# 1 on any failure.
#
# Environment: KEYBROKER_IMAGE_TAR (default: target/keybroker-image.tar next to
# this script), KEYBROKER_JAR (for build.sh), KEYBROKER_START_RUNS (start-time
# samples, default 3), KEYBROKER_NO_INSTALL=1 (never apt-get install podman).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TAR="${KEYBROKER_IMAGE_TAR:-$HERE/target/keybroker-image.tar}"
RUNS="${KEYBROKER_START_RUNS:-3}"
NAME="keybroker-test-$$"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() {
  echo "SKIP image test: $*"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
}
finish() {
  echo
  echo "$passed passed, $failed failed"
  ((failed == 0)) && exit 0 || exit 1
}
now_ms() { date +%s%3N; }

# --- can podman run here? ----------------------------------------------------------------
if ! command -v podman >/dev/null || [[ ! -x /usr/sbin/runc ]]; then
  if [[ "${KEYBROKER_NO_INSTALL:-}" != 1 && $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing podman and runc (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc; } >/tmp/keybroker-podman-install.log 2>&1 \
      || skip "podman and runc are not installed and apt-get could not install them (see /tmp/keybroker-podman-install.log)"
  else
    skip "podman and runc (/usr/sbin/runc) are not installed; on Debian: apt-get install -y podman runc"
  fi
fi
[[ $EUID -eq 0 ]] || skip "this test runs rootful podman (vfs storage, runc, cgroupfs) and needs root"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/keybroker-image-test.XXXXXX")"
printf '[containers]\ndefault_ulimits=[]\n' >"$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"
PODMAN=(podman --storage-driver=vfs --runtime=/usr/sbin/runc --cgroup-manager=cgroupfs)
cleanup() {
  # One name per call: podman 4.3's "rm -f" removes nothing when one of
  # several names does not exist.
  for c in "$NAME" "$NAME-noaot"; do "${PODMAN[@]}" rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! "${PODMAN[@]}" info >"$WORK/info.log" 2>&1; then
  skip "podman info fails here: $(tail -n 3 "$WORK/info.log" | tr '\n' ' ')"
fi

# --- image -----------------------------------------------------------------------------------
if [[ ! -f "$TAR" ]]; then
  echo "no $TAR: building it"
  "$HERE/build.sh" || { fail "build.sh"; finish; }
fi
echo "image archive: $TAR ($(du -h "$TAR" | cut -f1))"
if "${PODMAN[@]}" load -i "$TAR" >"$WORK/load.log" 2>&1; then
  IMAGE="$(sed -n 's/^Loaded image[^:]*: *//p' "$WORK/load.log" | head -n1)"
  pass "podman load accepted the archive: $IMAGE"
else
  cat "$WORK/load.log"; fail "podman load"; finish
fi
echo "image size in podman: $("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1000/1000}')"

# Probe: can this machine run a container at all? (A failure of the runtime
# itself is a SKIP; a failure of the image is a FAIL.)
if "${PODMAN[@]}" run --rm --read-only --network=host --entrypoint /opt/java/bin/java "$IMAGE" -version >"$WORK/probe.log" 2>&1; then
  pass "the image's java runs: $(grep -m1 'Runtime Environment' "$WORK/probe.log")"
else
  rc=$?
  if ((rc >= 125)) && grep -qiE 'cgroup|namespace|operation not permitted|permission denied|runc|crun|seccomp|pivot_root|unshare' "$WORK/probe.log" \
     && ! grep -qiE 'no such file|not found in \$PATH|unable to find user' "$WORK/probe.log"; then
    skip "podman cannot start a container on this machine (exit $rc): $(tail -n 2 "$WORK/probe.log" | tr '\n' ' ')"
  fi
  cat "$WORK/probe.log"; fail "running java in the image (exit $rc)"; finish
fi

# --- fixture and ports ----------------------------------------------------------------------------
"$HERE/lib/make-fixture.sh" "$WORK/fixture" || { fail "make-fixture.sh"; finish; }
F="$WORK/fixture"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT="$(free_port)"
MGMT_PORT="$(free_port)"
BROKER_ARGS=(
  --keybroker.environment=prod
  --keybroker.backend=file --keybroker.file.path=/etc/keybroker/secrets/secrets.yaml
  --keybroker.tls.certificate=/etc/keybroker/tls/tls.crt --keybroker.tls.private-key=/etc/keybroker/tls/tls.key
  --keybroker.tls.trust-bundle=/etc/keybroker/tls/ca.crt
  --keybroker.policy.dir=/etc/keybroker/policy
  --keybroker.audit.file=/var/log/keybroker/audit.jsonl
  --keybroker.listen.port="$API_PORT" --keybroker.management.port="$MGMT_PORT"
)
# Read-only root; writable only: /tmp and the audit directory (tmpfs), as the
# Helm chart does with emptyDirs. podman's automatic tmpfs mounts are off.
# /tmp is exec, as a Kubernetes emptyDir is: Netty loads BoringSSL's native
# library from there (podman's tmpfs default is noexec).
# Memory limit as the Helm chart's default (sidecar.resources.limits.memory).
MEMORY_LIMIT="${KEYBROKER_MEMORY_LIMIT:-256m}"
RUN_OPTS=(
  --memory "$MEMORY_LIMIT"
  --read-only --read-only-tmpfs=false
  --tmpfs /tmp:rw,exec,mode=1777,size=16m,notmpcopyup
  --tmpfs /var/log/keybroker:rw,mode=1777,size=16m,notmpcopyup
  --network=host
  -v "$F/tls:/etc/keybroker/tls:ro" -v "$F/policy:/etc/keybroker/policy:ro" -v "$F/secrets:/etc/keybroker/secrets:ro"
)

# Polls the readiness endpoint until it answers 200 or the deadline passes.
wait_ready() { # container name -> prints ms from start to ready; non-zero on timeout or exit
  local name="$1" start="$2" deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$MGMT_PORT/actuator/health/readiness")" == 200 ]]; then
      echo $(($(now_ms) - start))
      return 0
    fi
    [[ "$("${PODMAN[@]}" inspect "$name" --format '{{.State.Running}}' 2>/dev/null)" == true ]] || return 1
    sleep 0.05
  done
  return 1
}

# Creates, starts and waits for one container; prints the start-to-ready ms.
start_container() { # name, extra podman options..., -- , entrypoint override args...
  local name="$1"; shift
  "${PODMAN[@]}" rm -f -t 0 "$name" >/dev/null 2>&1
  "${PODMAN[@]}" create --name "$name" "${RUN_OPTS[@]}" "$@" >/dev/null || return 1
  local t0
  t0=$(now_ms)
  "${PODMAN[@]}" start "$name" >/dev/null || return 1
  wait_ready "$name" "$t0"
}

# --- start to ready -----------------------------------------------------------------------------------
times=()
for i in $(seq 1 "$RUNS"); do
  if ms="$(start_container "$NAME" "$IMAGE" "${BROKER_ARGS[@]}")"; then
    times+=("$ms")
    ((i < RUNS)) && "${PODMAN[@]}" rm -f -t 10 "$NAME" >/dev/null
  else
    "${PODMAN[@]}" logs "$NAME" 2>&1 | tail -n 40
    fail "container did not become ready (readiness 200 on 127.0.0.1:$MGMT_PORT) within 60 s"
    finish
  fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
START_MS="$(median "${times[@]}")"
pass "container start to ready (readiness 200): median ${START_MS} ms over $RUNS starts (${times[*]} ms), with the AOT cache"
echo "    broker's own figure: $("${PODMAN[@]}" logs "$NAME" 2>&1 | grep -o 'Started Keybroker in [0-9.]* seconds (process running for [0-9.]*)' | tail -n1)"

# --- identity, read-only root ----------------------------------------------------------------------------
PID="$("${PODMAN[@]}" inspect "$NAME" --format '{{.State.Pid}}')"
UIDS="$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$PID/status")"
if [[ "$UIDS" == "65532 65532 65532 65532" ]]; then
  pass "the broker runs as UID 65532 (real, effective, saved, fs), not root ($("${PODMAN[@]}" top "$NAME" user huser | tail -n1 | xargs))"
else
  fail "the broker's UIDs are '$UIDS', expected 65532"
fi
if [[ "$(awk '/^CapEff:/ {print $2}' "/proc/$PID/status")" == 0000000000000000 ]]; then
  pass "no effective capabilities"
else
  fail "effective capabilities: $(awk '/^CapEff:/ {print $2}' "/proc/$PID/status")"
fi
ROOT_OPTS="$(awk '$5 == "/" {print $6}' "/proc/$PID/mountinfo" | tail -n1)"
if [[ ",$ROOT_OPTS," == *,ro,* ]]; then
  pass "root file system is read-only (mount options $ROOT_OPTS)"
else
  fail "root file system mount options: $ROOT_OPTS"
fi
WRITABLE="$(awk '$6 ~ /(^|,)rw(,|$)/ {print $5}' "/proc/$PID/mountinfo" | grep -vE '^/(proc|sys|dev)(/|$)' | sort | tr '\n' ' ')"
echo "    writable mounts besides /proc, /sys, /dev: ${WRITABLE:-none}"

# --- serving over mTLS ---------------------------------------------------------------------------------------
served=""
CURL_MTLS=(curl -s --max-time 5 --cacert "$F/tls/ca.crt" --cert "$F/client/tls.crt" --key "$F/client/tls.key")
URL="https://127.0.0.1:$API_PORT/v1/secrets"
code="$("${CURL_MTLS[@]}" -o "$WORK/secret.json" -D "$WORK/secret.headers" -w '%{http_code}' "$URL/stripe/secret-key")"
if [[ "$code" == 200 ]] && python3 - "$WORK/secret.json" <<'EOF'
import json, sys
body = json.load(open(sys.argv[1]))
assert body["name"] == "stripe/secret-key", body.get("name")
assert body["current"]["value"] == "sk_test_keybroker_current", "current value"
assert body["current"]["version"] == "2", body["current"].get("version")
assert body["previous"]["value"] == "sk_test_keybroker_old", "previous value"
assert body["previous"]["version"] == "1", body["previous"].get("version")
EOF
then
  served=1
  pass "GET /v1/secrets/stripe/secret-key over mTLS as spiffe://cluster.local/ns/payments/sa/checkout: 200, current v2 and previous v1 values match"
else
  fail "GET /v1/secrets/stripe/secret-key over mTLS: HTTP $code, body: $(head -c 300 "$WORK/secret.json" 2>/dev/null | sed 's/sk_[A-Za-z0-9_]*/sk_<redacted>/g')"
fi
if grep -qi '^cache-control: *no-store' "$WORK/secret.headers" 2>/dev/null; then
  pass "Cache-Control: no-store"
else
  fail "no 'Cache-Control: no-store' header"
fi
code="$("${CURL_MTLS[@]}" -o /dev/null -w '%{http_code}' "$URL/stripe/restricted/reporting")"
[[ "$code" == 403 ]] && pass "a secret the policy does not grant: 403" || fail "a secret the policy does not grant: HTTP $code, expected 403"
if curl -s --max-time 5 --cacert "$F/tls/ca.crt" -o /dev/null "$URL/stripe/secret-key"; then
  fail "a request without a client certificate was answered"
elif [[ -z "$served" ]]; then
  # A refusal means something only if the listener serves mTLS at all.
  fail "no client certificate: not judged, the listener did not serve the mTLS request above either"
else
  pass "no client certificate: the TLS handshake fails"
fi

# --- audit ---------------------------------------------------------------------------------------------------------
AUDIT="/proc/$PID/root/var/log/keybroker/audit.jsonl"
if [[ -s "$AUDIT" ]] && grep -q 'stripe/secret-key' "$AUDIT"; then
  if grep -q 'sk_test_keybroker' "$AUDIT"; then
    fail "the audit file contains a secret value"
  else
    pass "audit file written on the tmpfs ($(wc -l <"$AUDIT") lines), no secret value in it"
  fi
else
  fail "no audit line for stripe/secret-key in /var/log/keybroker/audit.jsonl"
fi
groups_line="$("${PODMAN[@]}" logs "$NAME" 2>&1 | grep -m1 'TLS key-exchange groups of the listener' || true)"
if [[ "$groups_line" == *BoringSSL* && "$groups_line" == *X25519MLKEM768* ]]; then
  pass "the listener runs on BoringSSL with X25519MLKEM768 first (keybroker.tls.provider=auto)"
else
  fail "the listener is not on BoringSSL in the image: ${groups_line:-no groups line in the log}"
fi
if "${PODMAN[@]}" logs "$NAME" 2>&1 | grep -q 'sk_test_keybroker'; then
  fail "the broker's log contains a secret value"
else
  pass "no secret value in the broker's log"
fi

# --- memory, stop ------------------------------------------------------------------------------------------------------
echo "    resident memory after the requests: $(awk '/^VmRSS:/ {printf "%.0f MiB", $2/1024}' "/proc/$PID/status") (container memory limit $MEMORY_LIMIT)"
t0=$(now_ms)
"${PODMAN[@]}" stop -t 20 "$NAME" >/dev/null
EXIT="$("${PODMAN[@]}" inspect "$NAME" --format '{{.State.ExitCode}}')"
if [[ "$EXIT" == 0 || "$EXIT" == 143 ]]; then
  pass "SIGTERM: the broker stopped in $(($(now_ms) - t0)) ms (exit $EXIT)"
else
  "${PODMAN[@]}" logs "$NAME" 2>&1 | tail -n 20
  fail "SIGTERM: exit status $EXIT"
fi

# --- the same start without the AOT cache, for comparison --------------------------------------------------------------
ENTRY="$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{json .Config.Entrypoint}}')"
mapfile -t NOAOT < <(python3 -c 'import json,sys; print("\n".join(a for a in json.loads(sys.argv[1])[1:] if not a.startswith("-XX:AOTCache")))' "$ENTRY")
if ms="$(start_container "$NAME-noaot" --entrypoint /opt/java/bin/java "$IMAGE" "${NOAOT[@]}" "${BROKER_ARGS[@]}")"; then
  echo "    without the AOT cache: start to ready ${ms} ms (with it: median ${START_MS} ms)"
else
  echo "    without the AOT cache: did not become ready (not a failure of the image)"
fi
"${PODMAN[@]}" rm -f -t 10 "$NAME-noaot" >/dev/null 2>&1

finish
