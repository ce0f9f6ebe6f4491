#!/usr/bin/env bash
# Installs the released chart from an OCI registry into a real Kubernetes API server (kine + kube-apiserver on
# 127.0.0.1; no kubelet, so nothing runs, but admission, defaulting, validation and Helm's release records are
# real), then reads the Deployment back from the API server and checks that it runs the signed image by digest.
#
#   scripts/test-release-cluster.sh oci://REGISTRY/charts/keybroker CHART_VERSION [helm --set flags...]
#
# Called by scripts/test-release.sh. The API server and kine are the ones scripts/install-cluster-tools.sh builds
# into the tool cache; this script does not build them (about 12 minutes): when they are not there it exits 2,
# and test-release.sh falls back to `helm install --dry-run=client`. Every process it starts is stopped on exit.
set -euo pipefail
CHART="$1"; CHART_VERSION="$2"; shift 2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}"
APISERVER="$(ls "$CACHE"/kube-apiserver-*/kube-apiserver 2>/dev/null | sort -V | tail -n1 || true)"
KINE="$(ls "$CACHE"/kine-*/kine 2>/dev/null | sort -V | tail -n1 || true)"
if [[ ! -x "$APISERVER" || ! -x "$KINE" ]]; then
  echo "  (kube-apiserver or kine not in $CACHE: scripts/install-cluster-tools.sh kube-apiserver kine builds them)"
  exit 2
fi
HELM="$(command -v helm)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/keybroker-release-cluster.XXXXXX")"
PIDS=()
cleanup() {
  local status=$? pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((status != 0 && status != 2)); then tail -n 20 "$WORK/kube-apiserver.log" >&2 2>/dev/null || true; fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KINE_PORT="$(free_port)"
API_PORT="$(free_port)"

cd "$WORK"
q() { "$@" 2>>"$WORK/openssl.log" >/dev/null; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 1 \
  -subj "/CN=keybroker release-test CA"
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=apiserver"
q openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 1 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
q openssl genrsa -out sa.key 2048
TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
printf '%s,release-test-admin,release-test-admin,"system:masters"\n' "$TOKEN" >tokens.csv

"$KINE" --endpoint "sqlite://$WORK/kine.db?_journal=WAL&cache=shared" --listen-address "127.0.0.1:$KINE_PORT" \
  >"$WORK/kine.log" 2>&1 &
PIDS+=($!)
"$APISERVER" --etcd-servers="http://127.0.0.1:$KINE_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
  --tls-cert-file=apiserver.crt --tls-private-key-file=apiserver.key \
  --service-account-key-file=sa.key --service-account-signing-key-file=sa.key \
  --service-account-issuer=https://kubernetes.default.svc \
  --token-auth-file=tokens.csv --authorization-mode=RBAC --service-cluster-ip-range=10.96.0.0/16 \
  --enable-priority-and-fairness=false >"$WORK/kube-apiserver.log" 2>&1 &
PIDS+=($!)
api() { curl -fsS --cacert "$WORK/ca.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT$1"; }
for _ in $(seq 1 600); do api /readyz >/dev/null 2>&1 && break; sleep 0.2; done
api /readyz >/dev/null || { echo "kube-apiserver did not become ready" >&2; exit 1; }

cat >kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$WORK/ca.crt"}}]
users: [{name: a, user: {token: "$TOKEN"}}]
contexts: [{name: t, context: {cluster: t, user: a}}]
current-context: t
EOF
export KUBECONFIG="$WORK/kubeconfig"
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"
"$HELM" install keybroker "$CHART" --version "$CHART_VERSION" --plain-http --namespace payments --create-namespace "$@" \
  >"$WORK/helm.log" 2>&1 || { cat "$WORK/helm.log" >&2; exit 1; }
"$HELM" status keybroker --namespace payments >/dev/null
api /apis/apps/v1/namespaces/payments/deployments >"$WORK/deployments.json"
python3 - "$WORK/deployments.json" "$@" <<'EOF'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
sets = dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a and not a.startswith("-"))
want = f"{sets['image.repository']}@{sets['image.digest']}"
images = [c["image"] for d in items for c in d["spec"]["template"]["spec"].get("initContainers", []) + d["spec"]["template"]["spec"]["containers"]]
assert want in images, f"no container runs {want}: {images}"
print(f"  kube-apiserver holds Deployment(s) {[d['metadata']['name'] for d in items]} running {want}")
EOF
