#!/usr/bin/env bash
# Builds the Go tools of the release (scripts/release.sh, scripts/test-release.sh) into a cache OUTSIDE the
# clone, keyed by version, so that a second run (a second clone, a CI run on the same machine) builds nothing:
#
#   ${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}/<tool>-<version>/<binary>
#
#   cosign   v2.6.5   sign the image, attest its SBOM and provenance, verify both (github.com/sigstore/cosign/v2)
#   crane    v0.22.1  push the OCI image layout to a registry byte for byte, read digests back
#                     (github.com/google/go-containerregistry)
#   registry v3.1.2   the CNCF distribution registry, the tests' OCI registry on loopback
#                     (github.com/distribution/distribution/v3)
#
#   scripts/install-release-tools.sh [TOOL...]     (default: all)
#
# Helm (helm package/push/pull/install) comes from scripts/install-tools.sh. Each tool is built from its module
# as published (go mod download, then go build inside the module, so its own replace directives apply), one at a
# time, niced, into a temporary folder that is renamed into place: an interrupted build leaves no half binary.
# Links every tool into <repo>/.tools/bin. Exit status 0 when every requested tool is there and runs.
set -euo pipefail

COSIGN_VERSION=v2.6.5
CRANE_VERSION=v0.22.1
REGISTRY_VERSION=v3.1.2

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOL_SCRIPT=install-release-tools
# shellcheck source=lib/go-tool-cache.sh
source "$ROOT/scripts/lib/go-tool-cache.sh"

tools=("$@")
((${#tools[@]})) || tools=(registry crane cosign)
for t in "${tools[@]}"; do
  case "$t" in
    registry)
      go_build_module registry github.com/distribution/distribution/v3 "$REGISTRY_VERSION" ./cmd/registry registry \
        "-X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION"
      link_tool registry "$REGISTRY_VERSION" registry ;;
    crane)
      go_build_module crane github.com/google/go-containerregistry "$CRANE_VERSION" ./cmd/crane crane \
        "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$CRANE_VERSION"
      link_tool crane "$CRANE_VERSION" crane ;;
    cosign)
      go_build_module cosign github.com/sigstore/cosign/v2 "$COSIGN_VERSION" ./cmd/cosign cosign \
        "-X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION"
      link_tool cosign "$COSIGN_VERSION" cosign ;;
    *) fail "unknown tool: $t (registry, crane, cosign)" ;;
  esac
done

# Every tool runs and says its version.
for t in "${tools[@]}"; do
  case "$t" in
    registry) out="$("$BIN/registry" --version 2>&1)" || fail "registry does not run: $out" ;;
    crane)    out="$("$BIN/crane" version 2>&1)" || fail "crane does not run: $out" ;;
    cosign)   out="$("$BIN/cosign" version 2>&1 | grep -m1 GitVersion)" || fail "cosign does not run: $out" ;;
    *) continue ;;
  esac
  say "$t: $(echo "$out" | head -n1)"
done

finish
