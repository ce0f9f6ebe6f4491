#!/usr/bin/env bash
# The chart and the sidecar injector against a real Kubernetes API server (no kubelet, so no pod runs; admission,
# defaulting, validation, RBAC and Helm's install/upgrade/rollback are real):
#
#   kine (etcd API on SQLite) + kube-apiserver v1.34.4, both on 127.0.0.1, token auth, a serving certificate and
#   service-account key made here; cert-manager and PrometheusRule CRDs from helm/test/crds; the injector is the
#   real jar (`keybroker injector`) on 127.0.0.1, which the webhook reaches through injector.webhook.url.
#   The checks themselves are in helm/test/cluster_test.py.
#
# Tools: kube-apiserver and kine from scripts/install-cluster-tools.sh (cached outside the clone), helm and the
# Python venv from scripts/install-tools.sh, openssl, java 17+, and broker/target/keybroker.jar (./mvnw package).
# Every process started here is stopped on exit, whatever happens.
#
# Exit status: 0 when every check passed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TOOLS="${KEYBROKER_TOOLS_BIN:-$REPO/.tools/bin}"
JAR="${KEYBROKER_JAR:-$REPO/broker/target/keybroker.jar}"
PY="$REPO/.tools/venv/bin/python"
t0=$SECONDS

die() { echo "FAIL $*" >&2; exit 1; }
for tool in kube-apiserver kine helm; do
  [[ -x "$TOOLS/$tool" ]] || die "$TOOLS/$tool not found: run scripts/install-cluster-tools.sh and scripts/install-tools.sh"
done
[[ -x "$PY" ]] && "$PY" -c 'import yaml' 2>/dev/null || die "no Python with PyYAML at $PY: run scripts/install-tools.sh"
[[ -f "$JAR" ]] || die "$JAR not found: build it with ./mvnw -B -ntp -pl broker package -DskipTests"
command -v openssl >/dev/null || die "openssl is needed to make the test PKI"
command -v java >/dev/null || die "java 17+ is needed to run the injector"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/keybroker-cluster.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  # The API server before its storage. Each gets 5 s to stop on SIGTERM (the API server's graceful shutdown
  # would otherwise drain for about 20 s), then SIGKILL: everything they hold is in the throw-away $WORK.
  local i n
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[$i]}" 2>/dev/null || continue
    for ((n = 0; n < 50; n++)); do
      kill -0 "${PIDS[$i]}" 2>/dev/null || break
      sleep 0.1   # poll interval of a bounded wait for the process to exit
    done
    kill -9 "${PIDS[$i]}" 2>/dev/null || true
    wait "${PIDS[$i]}" 2>/dev/null || true
  done
  if ((status != 0)); then
    echo "--- kube-apiserver log (last 30 lines) ---"; tail -n 30 "$WORK/kube-apiserver.log" 2>/dev/null || true
    echo "--- kine log (last 10 lines) ---"; tail -n 10 "$WORK/kine.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
KINE_PORT="$(free_port)"
API_PORT="$(free_port)"
INJECTOR_PORT="$(free_port)"

# --- PKI: a CA, the API server's serving certificate, the injector's, a service-account key, a token ----------
cd "$WORK"
openssl_quiet() { openssl "$@" 2>>"$WORK/openssl.log"; }
openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 1 \
  -subj "/CN=keybroker cluster-test CA"
for name in apiserver injector; do
  openssl_quiet req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=$name"
  openssl_quiet x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 1 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
done
mkdir -p injector-tls && cp injector.crt injector-tls/tls.crt && cp injector.key injector-tls/tls.key \
  && cp ca.crt injector-tls/ca.crt
openssl_quiet genrsa -out sa.key 2048
TOKEN="$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
printf '%s,cluster-test-admin,cluster-test-admin,"system:masters"\n' "$TOKEN" > tokens.csv

# --- kine + kube-apiserver ---------------------------------------------------------------------------------
"$TOOLS/kine" --endpoint "sqlite://$WORK/kine.db?_journal=WAL&cache=shared" \
  --listen-address "127.0.0.1:$KINE_PORT" --metrics-bind-address 0 >"$WORK/kine.log" 2>&1 &
PIDS+=($!)
"$TOOLS/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$KINE_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
  --tls-cert-file=apiserver.crt --tls-private-key-file=apiserver.key \
  --service-account-key-file=sa.key --service-account-signing-key-file=sa.key \
  --service-account-issuer=https://kubernetes.default.svc \
  --token-auth-file=tokens.csv --authorization-mode=RBAC \
  --service-cluster-ip-range=10.96.0.0/16 \
  --enable-priority-and-fairness=false \
  >"$WORK/kube-apiserver.log" 2>&1 &
PIDS+=($!)

cat > kubeconfig <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: https://127.0.0.1:$API_PORT
      certificate-authority-data: $(base64 -w0 ca.crt)
users:
  - name: admin
    user:
      token: $TOKEN
contexts:
  - name: test
    context: {cluster: test, user: admin}
current-context: test
KUBECONFIG
chmod 600 kubeconfig

export KEYBROKER_CLUSTER_URL="https://127.0.0.1:$API_PORT"
export KEYBROKER_CLUSTER_CA="$WORK/ca.crt"
export KEYBROKER_CLUSTER_TOKEN="$TOKEN"
export KUBECONFIG="$WORK/kubeconfig"
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"
export KEYBROKER_HELM="$TOOLS/helm" KEYBROKER_CHART="$HERE" KEYBROKER_JAR="$JAR"
export KEYBROKER_INJECTOR_PORT="$INJECTOR_PORT" KEYBROKER_INJECTOR_TLS="$WORK/injector-tls" KEYBROKER_WORK="$WORK"
export KEYBROKER_CRDS="$HERE/test/crds"
echo "kube-apiserver $("$TOOLS/kube-apiserver" --version | awk '{print $2}') on 127.0.0.1:$API_PORT, kine on 127.0.0.1:$KINE_PORT, work dir $WORK"
# The Python side starts (and stops) the injector itself: it must write the template before the injector reads it.
set +e
"$PY" "$HERE/test/cluster_test.py"
status=$?
set -e
echo "helm/test-cluster.sh: $((SECONDS - t0)) s"
exit "$status"
