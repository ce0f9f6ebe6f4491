#!/usr/bin/env bash
# Tests of the Keybroker Helm chart, offline:
#   helm lint --strict; helm template for a namespace (defaults, everything
#   on, backend variants, and a workload chart that includes the sidecar);
#   kubernetes-validate -k 1.33.0 --strict; cert-manager objects against the
#   cert-manager API; the Pod Security "restricted" profile; SPIFFE URIs;
#   checkov (skips justified in docs/security-model.md); values typos and
#   wrong types rejected by values.schema.json.
#
# Tools come from KEYBROKER_TOOLS_BIN (default: <repo>/.tools/bin, filled by
# scripts/install-tools.sh): helm, kubernetes-validate, checkov. The Python of
# the kubernetes-validate venv also needs cloudcoil-models-cert-manager; it is
# installed there (pinned) when missing.
#
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TOOLS="${KEYBROKER_TOOLS_BIN:-$REPO/.tools/bin}"
NAMESPACE=payments
K8S_VERSION=1.33.0
CERT_MANAGER_MODELS="cloudcoil-models-cert-manager==1.17.1.0"

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL $*"; }

for tool in helm kubernetes-validate checkov; do
  if [[ ! -x "$TOOLS/$tool" ]]; then
    echo "FAIL $TOOLS/$tool not found: run scripts/install-tools.sh or set KEYBROKER_TOOLS_BIN" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done
HELM="$TOOLS/helm"
KV="$TOOLS/kubernetes-validate"
CHECKOV="$TOOLS/checkov"
# The Python interpreter of the venv that holds kubernetes-validate: from the
# script's "#!" line, or from the "exec" line pip writes for long paths, or
# next to the script.
kv_script="$(readlink -f "$KV")"
PY=""
for candidate in "$(head -n1 "$kv_script" | sed -n 's/^#! *\([^ ]*\).*/\1/p')" \
                 "$(sed -n "s/^'''exec' \"\{0,1\}\([^\" ]*\).*/\1/p" "$kv_script" | head -n1)" \
                 "$(dirname "$kv_script")/python3" "$(dirname "$kv_script")/python" "$TOOLS/python3"; do
  if [[ -n "$candidate" && -x "$candidate" && "$(basename "$candidate")" == python* ]]; then PY="$candidate"; break; fi
done
if [[ -z "$PY" ]] || ! "$PY" -c 'import yaml' 2>/dev/null; then
  echo "FAIL cannot find the Python (with PyYAML) of kubernetes-validate's venv from $kv_script"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! "$PY" -c 'import cloudcoil.models.cert_manager' 2>/dev/null; then
  echo "installing $CERT_MANAGER_MODELS into $(dirname "$PY")"
  "$PY" -m pip install -q "$CERT_MANAGER_MODELS" || { echo "FAIL cannot install $CERT_MANAGER_MODELS"; echo "0 passed, 1 failed"; exit 1; }
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/keybroker-chart.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
echo "helm: $("$HELM" version --short 2>/dev/null || "$HELM" version)"
echo "kubernetes-validate: $("$KV" --version)  checkov: $("$CHECKOV" --version)"
echo "output: $OUT"

# --- helm lint --strict -----------------------------------------------------
run_lint() { # label, extra args...
  local label="$1"; shift
  if "$HELM" lint --strict "$HERE" --namespace "$NAMESPACE" "$@" >"$OUT/lint-$label.log" 2>&1; then
    pass "helm lint --strict ($label)"
  else
    cat "$OUT/lint-$label.log"; fail "helm lint --strict ($label)"
  fi
}
run_lint defaults
run_lint full -f "$HERE/ci/full-values.yaml"

# --- helm template ------------------------------------------------------------
render() { # name, args... -> $OUT/<name>.yaml
  local n="$1"; shift
  if "$HELM" template keybroker "$HERE" --namespace "$NAMESPACE" --kube-version "$K8S_VERSION" "$@" >"$OUT/$n.yaml" 2>"$OUT/$n.err"; then
    pass "helm template ($n)"
    RENDERED+=("$OUT/$n.yaml")
  else
    cat "$OUT/$n.err"; fail "helm template ($n)"
  fi
}
RENDERED=()
PINNED=(--set image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000
        --set example.image.digest=sha256:1111111111111111111111111111111111111111111111111111111111111111)
render defaults
render full -f "$HERE/ci/full-values.yaml"
render vault-approle --set config.vault.authentication=APPROLE --set config.vault.appRole.roleId=r-123 \
  --set config.vault.appRole.secretIdSecret.name=vault-approle --set config.vault.caConfigMap=vault-ca \
  --set example.enabled=true "${PINNED[@]}"
render vault-token --set config.vault.authentication=TOKEN --set config.vault.tokenSecret.name=vault-token \
  --set example.enabled=true "${PINNED[@]}"
render aws --set config.backend=aws --set config.aws.region=eu-west-1 --set 'config.aws.fallbackRegions={eu-central-1,us-east-1}' \
  --set certManager.enabled=true --set certManager.createIssuer=false --set certManager.issuerRef.name=org-spiffe-ca \
  --set existingPolicyConfigMap=security-team-policy --set example.enabled=true "${PINNED[@]}"

# The audit trail stays inside its emptyDir: max-total-size below sizeLimit
# (derived, or set), and no audit file at all when it goes to standard output.
render audit-stdout --set sidecar.auditOutput=stdout --set example.enabled=true "${PINNED[@]}"
if grep -q -- '--keybroker.audit.max-total-size=48MB' "$OUT/vault-token.yaml" && grep -q 'sizeLimit: 64Mi' "$OUT/vault-token.yaml"; then
  pass "audit trail bounded at 48MB inside the 64Mi emptyDir (keybroker.audit.max-total-size)"
else
  fail "audit trail: keybroker.audit.max-total-size=48MB missing beside sizeLimit 64Mi"
fi
if [[ -f "$OUT/audit-stdout.yaml" ]] && grep -q 'name: keybroker' "$OUT/audit-stdout.yaml" && ! grep -q -- '--keybroker.audit.file' "$OUT/audit-stdout.yaml"; then
  pass "sidecar.auditOutput=stdout: no audit file argument, the trail goes to standard output"
else
  fail "sidecar.auditOutput=stdout still sets keybroker.audit.file"
fi

# Warming (keybroker.cache.warm-identities): a sidecar rendered for a known service account warms only that
# SPIFFE ID's grants; the injection template names none (the injector adds each pod's own) but carries the trust
# domain the injector writes it in.
if "$PY" - "$OUT/full.yaml" >"$OUT/warm.log" 2>&1 <<'PYEOF'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
def warm(container):
    return [e.get("value") for e in container.get("env", []) if e["name"] == "KEYBROKER_CACHE_WARMIDENTITIES"]
example = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-example"))
sidecar = example["spec"]["template"]["spec"]["initContainers"][0]
template = json.loads(next(d for d in docs if d["kind"] == "ConfigMap"
                           and d["metadata"]["name"].endswith("-injector"))["data"]["injection.json"])
problems = []
if warm(sidecar) != ["spiffe://cluster.local/ns/payments/sa/keybroker-example"]:
    problems.append(f"example sidecar: KEYBROKER_CACHE_WARMIDENTITIES is {warm(sidecar)}")
if warm(template["sidecar"]):
    problems.append(f"injection template names warm identities itself: {warm(template['sidecar'])}")
if template.get("trustDomain") != "cluster.local":
    problems.append(f"injection template trustDomain is {template.get('trustDomain')!r}")
print("; ".join(problems) or "example sidecar warms its SPIFFE ID's grants; the injection template carries trustDomain")
sys.exit(1 if problems else 0)
PYEOF
then
  pass "warming: $(cat "$OUT/warm.log")"
else
  cat "$OUT/warm.log"; fail "warming: KEYBROKER_CACHE_WARMIDENTITIES / injection template trustDomain"
fi

# Rollback: the namespace ConfigMap declares the broker version it was written for, so an older sidecar image
# warns about names it does not know instead of crash-looping (docs/configuration.md, "Rollback").
app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$HERE/Chart.yaml")"
if grep -q "keybroker.config.written-for: \"$app_version\"" "$OUT/defaults.yaml"; then
  pass "config ConfigMap declares keybroker.config.written-for: \"$app_version\" (the chart's appVersion)"
else
  fail "config ConfigMap: keybroker.config.written-for missing or not the appVersion ($app_version)"
fi

# A workload chart that depends on this chart and includes the sidecar
# templates (helm/examples/workload), with this chart unpacked as its subchart.
mkdir -p "$OUT/workload/charts"
cp -r "$HERE/examples/workload" "$OUT/workload/checkout"
mkdir -p "$OUT/workload/checkout/charts/keybroker"
(cd "$HERE" && tar --exclude=./examples --exclude=./test -cf - .) | tar -xf - -C "$OUT/workload/checkout/charts/keybroker"
if "$HELM" lint --strict "$OUT/workload/checkout" --namespace "$NAMESPACE" >"$OUT/lint-workload.log" 2>&1; then
  pass "helm lint --strict (workload chart with keybroker as a dependency)"
else
  cat "$OUT/lint-workload.log"; fail "helm lint --strict (workload chart)"
fi
if "$HELM" template checkout "$OUT/workload/checkout" --namespace "$NAMESPACE" --kube-version "$K8S_VERSION" \
     --set keybroker.image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000 \
     --set image.digest=sha256:2222222222222222222222222222222222222222222222222222222222222222 \
     >"$OUT/workload.yaml" 2>"$OUT/workload.err"; then
  pass "helm template (workload chart including keybroker.sidecar)"
  # The namespace install and the workload in one file, as they run in one
  # namespace: checkov's graph check CKV2_K8S_6 (pods without a
  # NetworkPolicy) needs both.
  cat "$OUT/defaults.yaml" "$OUT/workload.yaml" >"$OUT/namespace-and-workload.yaml"
  RENDERED+=("$OUT/namespace-and-workload.yaml")
  if grep -q 'restartPolicy: Always' "$OUT/workload.yaml" && grep -q 'secretName: keybroker-client-checkout' "$OUT/workload.yaml" \
     && grep -q 'name: keybroker-config' "$OUT/workload.yaml" && ! grep -q '^kind: ConfigMap' "$OUT/workload.yaml"; then
    pass "workload chart: native sidecar uses the namespace install's ConfigMaps and Secrets, renders none of its own"
  else
    fail "workload chart: sidecar wiring"
  fi
  if grep -A1 'name: KEYBROKER_CACHE_WARMIDENTITIES' "$OUT/workload.yaml" | grep -q 'value: spiffe://cluster.local/ns/payments/sa/checkout$'; then
    pass "workload chart: the sidecar warms only the grants of spiffe://cluster.local/ns/payments/sa/checkout"
  else
    fail "workload chart: KEYBROKER_CACHE_WARMIDENTITIES of the checkout service account missing"
  fi
else
  cat "$OUT/workload.err"; fail "helm template (workload chart)"
fi

# NOTES.txt renders and names the next step (helm install --dry-run=client
# needs no cluster).
for args in "" "-f $HERE/ci/full-values.yaml" "--set namespaceResources=false"; do
  # shellcheck disable=SC2086
  if "$HELM" install keybroker "$HERE" --namespace "$NAMESPACE" --dry-run=client $args >"$OUT/notes.log" 2>&1 \
     && sed -n '/^NOTES:/,$p' "$OUT/notes.log" | grep -q -e 'Next step' -e 'namespaceResources is false'; then
    pass "NOTES.txt renders (${args:-defaults})"
  else
    tail -n 20 "$OUT/notes.log"; fail "NOTES.txt (${args:-defaults})"
  fi
done

# Rendering must fail clearly where a value is required.
expect_render_error() { # label, expected message, args...
  local label="$1" msg="$2"; shift 2
  if "$HELM" template keybroker "$HERE" --namespace "$NAMESPACE" "$@" >/dev/null 2>"$OUT/err.log"; then
    fail "$label: rendered, but should have been rejected"
  elif grep -q -- "$msg" "$OUT/err.log"; then
    pass "$label: rejected ($(grep -o -- "$msg.*" "$OUT/err.log" | head -n1 | cut -c1-110))"
  else
    cat "$OUT/err.log"; fail "$label: rejected, but without the message '$msg'"
  fi
}
# Native sidecars need Kubernetes 1.29: the chart's kubeVersion refuses older clusters.
if "$HELM" template keybroker "$HERE" --namespace "$NAMESPACE" --kube-version 1.28.9 >/dev/null 2>"$OUT/err.log"; then
  fail "Kubernetes 1.28 (no native sidecars): rendered, but should have been refused"
elif grep -q "kubeVersion" "$OUT/err.log"; then
  pass "Kubernetes 1.28 (no native sidecars): refused by the chart's kubeVersion"
else
  cat "$OUT/err.log"; fail "Kubernetes 1.28: refused for another reason"
fi
# --- values typos and wrong types ----------------------------------------------
expect_render_error "typo at top level (replicaCont)" "additional properties 'replicaCont' not allowed" --set replicaCont=2
expect_render_error "typo in a nested key (sidecar.resource)" "additional properties 'resource' not allowed" --set sidecar.resource.limits.cpu=1
expect_render_error "unknown resource name (limits.cpuu)" "additional properties 'cpuu' not allowed" --set sidecar.resources.limits.cpuu=1
expect_render_error "wrong type (config.cache.ttl=5)" "/config/cache/ttl" --set config.cache.ttl=5
expect_render_error "wrong type (certManager.enabled=yes)" "/certManager/enabled" --set certManager.enabled=yes
expect_render_error "bad duration (rotation.gracePeriod=7 days)" "/config/rotation/gracePeriod" --set 'config.rotation.gracePeriod=7 days'
expect_render_error "unknown backend" "/config/backend" --set config.backend=consul
expect_render_error "trust domain with a final dot" "/trustDomain" --set trustDomain=cluster.local.
expect_render_error "port out of range" "/listen/port" --set listen.port=70000
expect_render_error "bad policy file name" "'payments.json' does not match pattern" --set 'policies.payments\.json=x'
expect_render_error "extraProperties outside keybroker/spring/logging/management" "'server.port' does not match pattern" --set 'config.extraProperties.server\.port=1'
expect_render_error "file backend without a Secret" "config.file.secretName is required" --set config.backend=file
expect_render_error "audit size limit not in Mi/Gi without auditMaxTotalSize" "set sidecar.auditMaxTotalSize" --set example.enabled=true --set sidecar.auditSizeLimit=100M
expect_render_error "bad auditOutput" "/sidecar/auditOutput" --set sidecar.auditOutput=syslog
expect_render_error "existing issuer without a name" "certManager.issuerRef.name is required" --set certManager.enabled=true --set certManager.createIssuer=false
expect_render_error "injector without cert-manager" "injector.enabled needs certManager.enabled=true" --set injector.enabled=true
expect_render_error "out-of-cluster injector without its CA" "injector.webhook.caBundle is required" --set injector.enabled=true --set injector.webhook.url=https://127.0.0.1:9443/mutate
expect_render_error "unknown injector failurePolicy" "/injector/failurePolicy" --set injector.enabled=true --set injector.failurePolicy=Retry
if "$HELM" template checkout "$OUT/workload/checkout" --namespace "$NAMESPACE" --set keybroker.sidecar.extraArg=x >/dev/null 2>"$OUT/err.log" ; then
  fail "typo in a workload chart's keybroker block: rendered, but should have been rejected"
elif grep -q "additional properties 'extraArg' not allowed" "$OUT/err.log"; then
  pass "typo in a workload chart's keybroker block (keybroker.sidecar.extraArg): rejected"
else
  cat "$OUT/err.log"; fail "typo in a workload chart's keybroker block: wrong error"
fi

# --- Kubernetes schemas (offline) ---------------------------------------------
# kubernetes-validate has no schema for CRDs: it prints a WARN "Couldn't find
# schema" and skips them. Those are accepted here only for cert-manager.io,
# which is validated separately below, and monitoring.coreos.com (the
# PrometheusRule, validated against its CRD by a real API server in
# helm/test-cluster.sh); any other skipped kind is a failure.
for f in "${RENDERED[@]}"; do
  n="$(basename "$f" .yaml)"
  if "$KV" -k "$K8S_VERSION" --strict "$f" >"$OUT/kv-$n.log" 2>&1; then
    if grep "Couldn't find schema" "$OUT/kv-$n.log" | grep -v -e "api version cert-manager.io/v1" \
         -e "api version monitoring.coreos.com/v1" | grep -q .; then
      cat "$OUT/kv-$n.log"; fail "kubernetes-validate $K8S_VERSION --strict ($n): kinds without a schema"
    else
      pass "kubernetes-validate -k $K8S_VERSION --strict ($n): $(grep -c ' passed for resource' "$OUT/kv-$n.log") resource(s)"
    fi
  else
    cat "$OUT/kv-$n.log"; fail "kubernetes-validate $K8S_VERSION --strict ($n)"
  fi
done

# --- cert-manager objects, restricted profile, SPIFFE IDs -------------------------
if "$PY" "$HERE/test/check_rendered.py" cert-manager "$OUT/full.yaml" "$OUT/aws.yaml" >"$OUT/cm.log" 2>&1; then
  pass "cert-manager.io/v1 objects valid against the cert-manager API, unknown fields rejected ($(grep -c '^PASS' "$OUT/cm.log") object(s))"
else
  cat "$OUT/cm.log"; fail "cert-manager.io/v1 objects"
fi
if "$PY" "$HERE/test/check_rendered.py" restricted "$OUT/full.yaml" "$OUT/aws.yaml" "$OUT/namespace-and-workload.yaml" >"$OUT/rs.log" 2>&1; then
  pass "Pod Security restricted profile and native sidecar ($(grep -c '^PASS' "$OUT/rs.log") pod template(s))"
else
  cat "$OUT/rs.log"; fail "Pod Security restricted profile"
fi
if "$PY" "$HERE/test/check_rendered.py" spiffe "$NAMESPACE" cluster.local "$OUT/full.yaml" >"$OUT/sp.log" 2>&1; then
  pass "SPIFFE client certificates: $(grep '^PASS' "$OUT/sp.log" | sed 's/.*-> //' | tr '\n' ' ')"
else
  cat "$OUT/sp.log"; fail "SPIFFE client certificates"
fi

# Leaf keys as PKCS#8: cert-manager writes PKCS#1/SEC1 unless told, and not every client reads those.
if "$PY" - "$OUT/full.yaml" >"$OUT/pkcs8.log" 2>&1 <<'PYEOF'
import sys, yaml
leaves = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "Certificate" and not d["spec"].get("isCA")]
bad = [d["metadata"]["name"] for d in leaves if d["spec"].get("privateKey", {}).get("encoding") != "PKCS8"]
print(f"{len(leaves)} leaf certificate(s); without encoding PKCS8: {bad}")
sys.exit(1 if bad or not leaves else 0)
PYEOF
then
  pass "cert-manager leaf certificates write PKCS#8 keys ($(cat "$OUT/pkcs8.log"))"
else
  cat "$OUT/pkcs8.log"; fail "cert-manager leaf certificates: privateKey.encoding PKCS8"
fi

# --- checkov ------------------------------------------------------------------
echo "checkov: checks skipped by helm/.checkov.yaml (justified in docs/security-model.md): $(sed -n 's/^ *- *\(CKV[0-9A-Z_]*\).*/\1/p' "$HERE/.checkov.yaml" | tr '\n' ' ')"
for f in "${RENDERED[@]}"; do
  n="$(basename "$f" .yaml)"
  # checkov reads only .yaml files in a directory; give it one file at a time.
  if "$CHECKOV" --config-file "$HERE/.checkov.yaml" -f "$f" >"$OUT/checkov-$n.log" 2>&1; then
    pass "checkov ($n): $(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$OUT/checkov-$n.log" | head -n1)"
  else
    cat "$OUT/checkov-$n.log"; fail "checkov ($n)"
  fi
done

echo
if ((failed)); then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
