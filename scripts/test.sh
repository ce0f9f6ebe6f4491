#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs its own tools (OpenBao, moto, stripe-mock, toxiproxy,
# Helm, sslyze, checkov, kubernetes-validate, check-jsonschema; podman when run as root; kube-apiserver, kine,
# promtool; registry, crane, cosign for the release test), then runs every test against the real peers. `.ci/run`
# calls exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

install_args=()
if [ "$(id -u)" = 0 ]; then
  install_args+=(--with-podman)
fi
scripts/install-tools.sh "${install_args[@]}"
export KEYBROKER_TOOLS_BIN="$root/.tools/bin"
export PATH="$KEYBROKER_TOOLS_BIN:$PATH"

# Unit and integration tests of every module (real TLS handshakes, OpenBao, moto, stripe-mock, toxiproxy,
# a Spring Cloud Config client), and the jar.
./mvnw -B -ntp verify

# The Helm chart: lint, render, Kubernetes schemas offline, checkov, values typos rejected.
if [ -x helm/test-chart.sh ]; then
  helm/test-chart.sh
fi

# kube-apiserver, kine and promtool: built once into a cache outside the clone (the first time: 25 min for the
# API server, 13 for kine, 30 for promtool, measured on 2 busy cores; a no-op when cached), linked into .tools/bin.
scripts/install-cluster-tools.sh
# The chart's alerts under promtool, then the chart and the sidecar injector (the jar built above) against a
# real kube-apiserver on kine/SQLite: install, injection, upgrade, rollback, server-side dry-run.
helm/test-monitoring.sh
helm/test-cluster.sh

# The sidecar image: built without a Docker engine, run read-only and non-root under podman.
if [ -x sidecar-image/build.sh ] && [ -x sidecar-image/test-image.sh ]; then
  sidecar-image/build.sh
  sidecar-image/test-image.sh
fi

# The release: scripts/release.sh into dist/, pushed to a local OCI registry, signed and attested with cosign,
# SBOMs checked, built twice (same digest), chart installed from oci://. Builds its own tools (registry, crane,
# cosign) into the cache outside the clone, once.
if [ -x scripts/test-release.sh ]; then
  scripts/test-release.sh
fi
echo "All Keybroker tests passed."
