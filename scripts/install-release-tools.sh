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
CACHE="${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}"
BIN="$ROOT/.tools/bin"
LOGS="$CACHE/logs"
mkdir -p "$BIN" "$LOGS"

export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go-build"
export GOFLAGS="-modcacherw -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0

say() { echo "[install-release-tools] $*"; }
failures=()
fail() { failures+=("$*"); echo "[install-release-tools] FAILED: $*" >&2; }

# go_build NAME MODULE VERSION PACKAGE BINARY LDFLAGS
go_build() {
  local name="$1" module="$2" version="$3" pkg="$4" binary="$5" ldflags="$6" t0=$SECONDS
  local dir="$CACHE/$name-$version"
  if [[ -x "$dir/$binary" ]]; then say "$name: cached ($dir)"; return; fi
  if ! command -v go >/dev/null; then fail "$name: go is not on PATH (need Go >= 1.24)"; return; fi
  say "$name: building $module@$version (once)"
  rm -rf "$dir.tmp"
  if ! (
    set -e
    src="$(go mod download -json "$module@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
    cd "$src"
    nice go build -trimpath -ldflags "-s -w $ldflags" -o "$dir.tmp/$binary" "$pkg"
  ) >"$LOGS/$name.log" 2>&1; then
    fail "$name: build of $module@$version failed (log: $LOGS/$name.log)"; tail -n 20 "$LOGS/$name.log" >&2
    rm -rf "$dir.tmp"; return
  fi
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  say "$name: built in $((SECONDS - t0))s"
}

link_tool() { # NAME VERSION BINARY
  local target="$CACHE/$1-$2/$3"
  if [[ -x "$target" ]]; then ln -sfn "$target" "$BIN/$3"; else fail "$1: $target is missing"; fi
}

tools=("$@")
((${#tools[@]})) || tools=(registry crane cosign)
for t in "${tools[@]}"; do
  case "$t" in
    registry)
      go_build registry github.com/distribution/distribution/v3 "$REGISTRY_VERSION" ./cmd/registry registry \
        "-X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION"
      link_tool registry "$REGISTRY_VERSION" registry ;;
    crane)
      go_build crane github.com/google/go-containerregistry "$CRANE_VERSION" ./cmd/crane crane \
        "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$CRANE_VERSION"
      link_tool crane "$CRANE_VERSION" crane ;;
    cosign)
      go_build cosign github.com/sigstore/cosign/v2 "$COSIGN_VERSION" ./cmd/cosign cosign \
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

if ((${#failures[@]})); then printf '  - %s\n' "${failures[@]}" >&2; exit 1; fi
say "tools in $CACHE, linked into $BIN"
