#!/usr/bin/env bash
# Tests of the chart's monitoring: the PrometheusRule's alerts under `promtool test rules`
# (helm/test/prometheus-rules-test.yaml: each alert fires on its failure, a healthy install fires none), every
# rule and dashboard query parsed by promtool, and every metric they name exported by the broker (a meter in
# broker/src/main/java and a row of docs/observability.md).
#
# Tools: helm and the Python venv (scripts/install-tools.sh), promtool (scripts/install-cluster-tools.sh).
# Exit status: 0 when every check passed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TOOLS="${KEYBROKER_TOOLS_BIN:-$REPO/.tools/bin}"
PY="$REPO/.tools/venv/bin/python"
for tool in helm promtool; do
  [[ -x "$TOOLS/$tool" ]] || { echo "FAIL $TOOLS/$tool not found: run scripts/install-tools.sh and scripts/install-cluster-tools.sh"; exit 1; }
done
"$PY" -c 'import yaml' 2>/dev/null || { echo "FAIL no Python with PyYAML at $PY: run scripts/install-tools.sh"; exit 1; }

OUT="$(mktemp -d "${TMPDIR:-/tmp}/keybroker-monitoring.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
passed=0; failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

if "$TOOLS/helm" template keybroker "$HERE" --namespace payments --set monitoring.prometheusRule.enabled=true \
     --set monitoring.grafanaDashboard.enabled=true >"$OUT/rendered.yaml" 2>"$OUT/err.log"; then
  pass "helm template with monitoring.prometheusRule and monitoring.grafanaDashboard enabled"
else
  cat "$OUT/err.log"; fail "helm template (monitoring)"
fi

# The rule groups as Prometheus reads them; a copy without annotations for the unit tests (they check when
# alerts fire, not their wording; the annotation templates are checked by `promtool check rules`). The dashboard's
# queries, with Grafana's variables filled in, as recording rules so that promtool parses them too.
"$PY" - "$OUT" "$HERE/dashboards/keybroker.json" <<'PYEOF'
import json, sys, yaml
out, dashboard = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(f"{out}/rendered.yaml")) if d]
rule = next(d for d in docs if d["kind"] == "PrometheusRule")
groups = rule["spec"]["groups"]
yaml.safe_dump({"groups": groups}, open(f"{out}/rules-full.yaml", "w"))
for g in groups:
    for r in g["rules"]:
        r.pop("annotations", None)
yaml.safe_dump({"groups": groups}, open(f"{out}/rules.yaml", "w"))
cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard"))
assert json.loads(cm["data"]["keybroker.json"]) == json.load(open(dashboard)), "dashboard ConfigMap differs from the file"
rules = []
for i, panel in enumerate(json.load(open(dashboard))["panels"]):
    for t in panel.get("targets", []):
        expr = t["expr"].replace("$__rate_interval", "5m").replace('"$namespace"', '".*"')
        rules.append({"record": f"dashboard:panel{i}:{t['refId']}", "expr": expr})
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(f"{out}/dashboard-rules.yaml", "w"))
PYEOF
[[ -f "$OUT/rules.yaml" ]] && pass "PrometheusRule and dashboard ConfigMap extracted (dashboard ConfigMap equals helm/dashboards/keybroker.json)" \
  || fail "extracting the PrometheusRule and dashboard"

if "$TOOLS/promtool" check rules "$OUT/rules-full.yaml" >"$OUT/check.log" 2>&1; then
  pass "promtool check rules: $(grep -o 'SUCCESS: [0-9]* rules found' "$OUT/check.log")"
else
  cat "$OUT/check.log"; fail "promtool check rules"
fi
if "$TOOLS/promtool" check rules "$OUT/dashboard-rules.yaml" >"$OUT/check-dash.log" 2>&1; then
  pass "promtool parses every dashboard query: $(grep -o '[0-9]* rules found' "$OUT/check-dash.log")"
else
  cat "$OUT/check-dash.log"; fail "dashboard queries do not parse"
fi
cp "$HERE/test/prometheus-rules-test.yaml" "$OUT/"
if "$TOOLS/promtool" test rules "$OUT/prometheus-rules-test.yaml" >"$OUT/test.log" 2>&1; then
  pass "promtool test rules: $(grep -c '^  - name:' "$HERE/test/prometheus-rules-test.yaml") cases (denial burst, stale serving, renewal overdue, backend down, audit volume, policy reload, healthy install fires none)"
else
  cat "$OUT/test.log"; fail "promtool test rules"
fi

# Every metric a rule or panel names must be one the broker exports.
missing=()
for metric in $(grep -oh 'keybroker_[a-z_]*' "$OUT/rules-full.yaml" "$HERE/dashboards/keybroker.json" | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  # Micrometer adds _total to counters and _seconds to timers; a gauge's name is as registered.
  stripped="$(sed -E 's/_(total|seconds)$//; s/_/./g' <<<"$metric")"
  dotted="${metric//_/.}"
  if ! grep -rqF -e "\"$stripped\"" -e "\"$dotted\"" "$REPO/broker/src/main/java" \
     || ! grep -qF "\`$metric" "$REPO/docs/observability.md"; then
    missing+=("$metric")
  fi
done
if ((${#missing[@]} == 0)); then
  pass "every metric in the rules and the dashboard is a broker meter documented in docs/observability.md"
else
  fail "metrics not exported by the broker or not in docs/observability.md: ${missing[*]}"
fi

echo "$passed passed, $failed failed"
((failed == 0))
