#!/usr/bin/env bash
# Builds the slow Go tools of the Kubernetes and release tests into a cache OUTSIDE the clone, keyed by version,
# so that a second run (a second clone, a CI run on the same machine) finds them and builds nothing:
#
#   ${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}/<tool>-<version>/<binary>
#
#   kube-apiserver v1.34.4   built from the k8s.io/kubernetes module (about 12 min on 2 cores, once)
#   kine v0.17.5             etcd API on SQLite, the API server's storage
#   promtool v0.x            Prometheus rule unit tests
#
#   scripts/install-cluster-tools.sh [TOOL...]     (default: all)
#
# Links every tool into <repo>/.tools/bin. Exit status 0 when every requested tool is there and runs.
set -euo pipefail

KUBE_VERSION=v1.34.4
KUBE_STAGING_VERSION=v0.34.4
KINE_VERSION=v0.17.5
PROMETHEUS_VERSION=v0.316.0  # module github.com/prometheus/prometheus (Prometheus 3.16)

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOL_SCRIPT=install-cluster-tools
# shellcheck source=lib/go-tool-cache.sh
source "$ROOT/scripts/lib/go-tool-cache.sh"

# A tool is built into a temporary folder and renamed into place, so an interrupted build leaves no half binary.
build_kube_apiserver() {
  local dir="$CACHE/kube-apiserver-$KUBE_VERSION" t0=$SECONDS
  if [[ -x "$dir/kube-apiserver" ]]; then say "kube-apiserver: cached ($dir)"; return; fi
  say "kube-apiserver: building $KUBE_VERSION (once; about 12 min on 2 cores)"
  local work; work="$(mktemp -d "$CACHE/kube-src.XXXXXX")"
  (
    set -e
    cd "$work"
    go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" > mod.json
    src="$(python3 -c 'import json,sys; print(json.load(open("mod.json"))["Dir"])')"
    cp -r "$src" k && chmod -R u+w k && cd k
    rm -rf vendor go.work go.work.sum
    # The module replaces its staging modules with ./staging paths; require the published ones instead.
    python3 - "$KUBE_STAGING_VERSION" <<'EOF'
import re, sys
ver = sys.argv[1]
text = open("go.mod").read()
text = re.sub(r"^\s*(k8s\.io/[^\s]+)\s*=>\s*\./staging/[^\n]*\n", "", text, flags=re.M)
text = re.sub(r"^replace \(\s*\)\s*$", "", text, flags=re.M)
text = re.sub(r"^(\s*k8s\.io/[a-z0-9-]+(?:/[a-z0-9-]+)*)\s+v0\.0\.0\s*$",
              lambda m: f"{m.group(1)} {ver}", text, flags=re.M)
open("go.mod", "w").write(text)
EOF
    go mod tidy -e >/dev/null 2>&1 || true
    go build -trimpath -o kube-apiserver -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34" \
      ./cmd/kube-apiserver
    mkdir -p "$dir.tmp" && mv kube-apiserver "$dir.tmp/"
  ) >"$LOGS/kube-apiserver.log" 2>&1 || { fail "kube-apiserver: build failed (log: $LOGS/kube-apiserver.log)"; tail -n 20 "$LOGS/kube-apiserver.log" >&2; rm -rf "$work"; return; }
  mv "$dir.tmp" "$dir"
  rm -rf "$work"
  say "kube-apiserver: built in $((SECONDS - t0))s"
}

tools=("$@")
((${#tools[@]})) || tools=(kube-apiserver kine promtool)
for t in "${tools[@]}"; do
  case "$t" in
    kube-apiserver) build_kube_apiserver; link_tool kube-apiserver "$KUBE_VERSION" kube-apiserver ;;
    # kine's SQLite driver is cgo (mattn/go-sqlite3): without cgo it builds but refuses sqlite:// at run time.
    kine) CGO_ENABLED=1 go_install kine github.com/k3s-io/kine "$KINE_VERSION" kine; link_tool kine "$KINE_VERSION" kine ;;
    promtool) go_install promtool github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_VERSION" promtool
              link_tool promtool "$PROMETHEUS_VERSION" promtool ;;
    *) fail "unknown tool: $t (kube-apiserver, kine, promtool)" ;;
  esac
done

finish
