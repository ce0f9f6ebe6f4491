# Sourced by scripts/install-cluster-tools.sh and scripts/install-release-tools.sh: the cache of built tools
# OUTSIDE the clone, keyed by version, and the Go build steps both use, so that a second run (a second clone, a CI
# run on the same machine) finds every tool and builds nothing:
#
#   ${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}/<tool>-<version>/<binary>
#
# The sourcing script sets ROOT (the repository) and TOOL_SCRIPT (its name, for messages) first. Each tool is built
# into <dir>.tmp and renamed into place, so an interrupted build leaves no half binary; every tool is linked into
# <repo>/.tools/bin. Failures are collected and reported by finish.

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

say() { echo "[$TOOL_SCRIPT] $*"; }
failures=()
fail() { failures+=("$*"); echo "[$TOOL_SCRIPT] FAILED: $*" >&2; }

# go_install NAME MODULE_PACKAGE VERSION BINARY: `go install` of a command whose module builds as published.
go_install() {
  local name="$1" pkg="$2" version="$3" binary="$4" t0=$SECONDS
  local dir="$CACHE/$name-$version"
  if [[ -x "$dir/$binary" ]]; then say "$name: cached ($dir)"; return; fi
  if ! command -v go >/dev/null; then fail "$name: go is not on PATH (need Go >= 1.24)"; return; fi
  say "$name: go install $pkg@$version"
  rm -rf "$dir.tmp"
  if ! GOBIN="$dir.tmp" nice go install -trimpath -ldflags "-s -w" "$pkg@$version" >"$LOGS/$name.log" 2>&1; then
    fail "$name: go install $pkg@$version failed (log: $LOGS/$name.log)"; tail -n 20 "$LOGS/$name.log" >&2
    rm -rf "$dir.tmp"; return
  fi
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  say "$name: built in $((SECONDS - t0))s"
}

# go_build_module NAME MODULE VERSION PACKAGE BINARY LDFLAGS: go build inside the module as published (go mod
# download), so its own replace directives apply, which `go install` ignores.
go_build_module() {
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

# link_tool NAME VERSION BINARY: <repo>/.tools/bin/BINARY -> the cached build.
link_tool() {
  local target="$CACHE/$1-$2/$3"
  if [[ -x "$target" ]]; then ln -sfn "$target" "$BIN/$3"; else fail "$1: $target is missing"; fi
}

# finish: exit 1 listing every failure, or say where the tools are.
finish() {
  if ((${#failures[@]})); then printf '  - %s\n' "${failures[@]}" >&2; exit 1; fi
  say "tools in $CACHE, linked into $BIN"
}
