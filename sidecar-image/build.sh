#!/usr/bin/env bash
# Builds the Keybroker sidecar image with no Docker engine and no registry:
#
#   sidecar-image/build.sh        ->  sidecar-image/target/keybroker-image.tar     (docker-archive)
#                                      sidecar-image/target/oci/                     (OCI image layout)
#                                      sidecar-image/target/keybroker-image.cdx.json (CycloneDX SBOM)
#
# The docker-archive is what `podman load` (and `docker load`) accept; the OCI
# layout is the same image with gzip layers, which scripts/release.sh pushes
# and signs. Same commit and same inputs give the same image ID and the same
# OCI manifest digest (scripts/test-release.sh builds twice and compares).
# It holds:
#   - glibc from Debian's libc6 package (the only native dependency of the JDK
#     modules used; no shell, no package manager, no other binaries);
#   - a JDK 25 runtime made by jlink from the Temurin JDK with only the modules
#     the broker needs;
#   - the broker, extracted from its Spring Boot jar (so its classes load from
#     the application class path and can be stored in the AOT cache);
#   - a JDK 25 AOT cache (JEP 483/514/515) made by a training run of the
#     broker at build time, inside the image's own root file system;
#   - user 65532:65532, ENTRYPOINT java ... -jar /opt/keybroker/keybroker.jar,
#     so container arguments are broker arguments.
#
# Environment:
#   KEYBROKER_JAR    the broker jar (default: ../broker/target/keybroker.jar from here)
#   KEYBROKER_JDK    the JDK 25 to jlink from (default: /usr/lib/jvm/temurin-25-jdk-amd64)
#   KEYBROKER_IMAGE  the image name:tag (default: keybroker:<appVersion of helm/Chart.yaml>)
#   SOURCE_DATE_EPOCH  time stamp of every file (default: the last commit's time)
#   KEYBROKER_LIBC6_DEB  the libc6 .deb to take glibc from (default: `apt-get download libc6`, the newest
#                    in the build machine's Debian archive; pass the same file to reproduce a build later)
#   KEYBROKER_SOURCE_URL  the org.opencontainers.image.source label (default: git remote origin's URL)
#   KEYBROKER_AOT_CACHE  an AOT cache to use instead of a training run (to rebuild a published image: the
#                    cache is the one layer a training run cannot reproduce bit for bit)
#
# Needs: bash, python3, openssl, curl, tar, unshare and chroot (util-linux,
# coreutils), objcopy (binutils), and Debian's apt-get to download libc6 (falls back to copying
# the build machine's glibc when apt-get cannot).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
JAR="${KEYBROKER_JAR:-$HERE/../broker/target/keybroker.jar}"
JDK="${KEYBROKER_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
APP_VERSION="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$REPO/helm/Chart.yaml" 2>/dev/null || true)"
IMAGE="${KEYBROKER_IMAGE:-keybroker:${APP_VERSION:-latest}}"
TARGET="$HERE/target"
ROOTFS="$TARGET/rootfs"
OUT="$TARGET/keybroker-image.tar"
UID_GID=65532

# JVM flags. The entrypoint's flags are fixed (the AOT cache is only used with
# the same GC); the tunable ones are in JDK_JAVA_OPTIONS, which a pod can
# replace (helm value sidecar.jvmOptions).
ENTRY_FLAGS=(
  -XX:AOTCache=/opt/keybroker/keybroker.aot
  -XX:+UseSerialGC
  -XX:+ExitOnOutOfMemoryError
  -XX:-UsePerfData
  --enable-native-access=ALL-UNNAMED
)
# Measured (docs/operations.md, "Resources"): C1 only starts faster and uses
# ~25 MiB less memory than tiered C1+C2, and a sidecar's request rate does not
# need C2's peak code; remove -XX:TieredStopAtLevel=1 to get C2 back.
DEFAULT_JDK_JAVA_OPTIONS="-XX:MaxRAMPercentage=50 -Xss512k -XX:TieredStopAtLevel=1"
# Modules of the runtime: java.desktop for java.beans (Spring, Jackson),
# java.sql (Spring), java.naming/jdk.naming.dns (JNDI, DNS), java.management
# and jdk.management (metrics), jdk.unsupported (Netty), java.net.http,
# security providers, jdk.crypto.cryptoki for PKCS#11 HSM users, jdk.zipfs.
MODULES=java.base,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.security.sasl,java.sql,java.xml,java.xml.crypto,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.management,jdk.naming.dns,jdk.unsupported,jdk.zipfs
LIBC_FILES=(ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libnss_files.so.2 libnss_dns.so.2)

say() { printf '==> %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

[[ -f "$JAR" ]] || die "no broker jar at $JAR: build it with ./mvnw -pl broker -am package -DskipTests, or set KEYBROKER_JAR"
[[ -x "$JDK/bin/jlink" ]] || die "no JDK with jlink at $JDK: set KEYBROKER_JDK to a JDK 25"
"$JDK/bin/java" -version 2>&1 | grep -q 'version "25' || die "$JDK is not a JDK 25"
for tool in python3 openssl tar unshare chroot objcopy; do command -v "$tool" >/dev/null || die "$tool is needed (objcopy: binutils, for jlink --strip-debug)"; done
SOURCE_URL="${KEYBROKER_SOURCE_URL:-$(git -C "$REPO" remote get-url origin 2>/dev/null || echo unknown)}"
REVISION="$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)"
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  SOURCE_DATE_EPOCH="$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)"
fi
CREATED="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
START=$SECONDS

rm -rf "$ROOTFS" "$TARGET/work" "$OUT" "$TARGET/oci" "$TARGET/keybroker-image.cdx.json"
mkdir -p "$ROOTFS" "$TARGET/work"

# --- glibc -------------------------------------------------------------------
say "glibc"
mkdir -p "$ROOTFS/lib/x86_64-linux-gnu" "$ROOTFS/lib64" "$ROOTFS/usr/share/doc/libc6"
LIBC_VERSION=""
if [[ -n "${KEYBROKER_LIBC6_DEB:-}" ]]; then
  [[ -f "$KEYBROKER_LIBC6_DEB" ]] || die "KEYBROKER_LIBC6_DEB=$KEYBROKER_LIBC6_DEB is not a file"
  cp "$KEYBROKER_LIBC6_DEB" "$TARGET/work/"
fi
if [[ -n "${KEYBROKER_LIBC6_DEB:-}" ]] || { command -v apt-get >/dev/null && (cd "$TARGET/work" && apt-get download libc6 >/dev/null 2>&1); }; then
  deb="$(ls "$TARGET"/work/libc6_*.deb | head -n1)"
  dpkg-deb -x "$deb" "$TARGET/work/libc6"
  LIBC_VERSION="$(dpkg-deb -f "$deb" Version)"
  for f in "${LIBC_FILES[@]}"; do
    cp -L "$TARGET/work/libc6/lib/x86_64-linux-gnu/$f" "$ROOTFS/lib/x86_64-linux-gnu/$f"
  done
  cp "$TARGET/work/libc6/usr/share/doc/libc6/copyright" "$ROOTFS/usr/share/doc/libc6/copyright"
  # The package's record, which image scanners read (see dpkg-status.py).
  mkdir -p "$ROOTFS/var/lib/dpkg/status.d"
  python3 "$HERE/dpkg-status.py" "$deb" "$ROOTFS/var/lib/dpkg/status.d/libc6"
  DEBIAN_VERSION_ID="$(. /etc/os-release 2>/dev/null; echo "${VERSION_ID:-12}")"
  DEBIAN_CODENAME="$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")"
  echo "    libc6 $LIBC_VERSION from Debian"
else
  echo "    apt-get download libc6 failed: copying this machine's glibc instead" >&2
  for f in "${LIBC_FILES[@]}"; do
    src="$(ls /lib/x86_64-linux-gnu/"$f" /usr/lib/x86_64-linux-gnu/"$f" 2>/dev/null | head -n1)"
    [[ -n "$src" ]] || die "cannot find $f on this machine"
    cp -L "$src" "$ROOTFS/lib/x86_64-linux-gnu/$f"
  done
  LIBC_VERSION="$(ldd --version | head -n1 | awk '{print $NF}') (copied from the build machine)"
  DEBIAN_VERSION_ID=""
fi
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOTFS/lib64/ld-linux-x86-64.so.2"

# --- /etc, users, mount points ------------------------------------------------
mkdir -p "$ROOTFS"/{etc,tmp,proc,sys,dev,home/nonroot,var/log/keybroker} \
         "$ROOTFS"/etc/keybroker/{tls,policy,config,secrets,credentials,vault-ca}
# /tmp and the audit directory are mount points for a tmpfs or an emptyDir;
# runc gives a tmpfs the mode of the directory it covers, so both are 1777.
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/log/keybroker"
cat >"$ROOTFS/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:$UID_GID:$UID_GID:keybroker:/home/nonroot:/sbin/nologin
EOF
cat >"$ROOTFS/etc/group" <<EOF
root:x:0:
nonroot:x:$UID_GID:
EOF
cat >"$ROOTFS/etc/nsswitch.conf" <<'EOF'
passwd: files
group:  files
hosts:  files dns
EOF
# Debian's identity (as distroless images do): the only OS package inside is Debian's libc6, and scanners
# match it against Debian's security tracker only when they know which Debian release it came from.
if [[ -n "$DEBIAN_VERSION_ID" ]]; then
  cat >"$ROOTFS/etc/os-release" <<EOF
PRETTY_NAME="Keybroker sidecar $APP_VERSION (Debian $DEBIAN_VERSION_ID libc6 $LIBC_VERSION, Temurin JDK 25 runtime)"
NAME="Debian GNU/Linux"
ID=debian
VERSION_ID="$DEBIAN_VERSION_ID"
VERSION_CODENAME=$DEBIAN_CODENAME
EOF
else
  cat >"$ROOTFS/etc/os-release" <<EOF
NAME="Keybroker sidecar"
ID=keybroker
VERSION_ID="$APP_VERSION"
PRETTY_NAME="Keybroker sidecar $APP_VERSION (glibc copied from the build machine $LIBC_VERSION, Temurin JDK 25 runtime)"
EOF
fi
touch "$ROOTFS/etc/hosts" "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname"

# --- Java runtime ------------------------------------------------------------------
say "jlink: JDK 25 runtime"
# --compress=zip-6: 33 MB smaller; start-to-ready measured the same (classes
# come from the AOT cache, not from the compressed modules file).
# The runtime's release file keeps the JDK's vendor and full version (jlink alone writes only JAVA_VERSION and
# MODULES): scanners that find a Java runtime by its release file read these to name it.
RELEASE_INFO="$(python3 - "$JDK/release" <<'PY'
import sys
keys = ("IMPLEMENTOR", "IMPLEMENTOR_VERSION", "JAVA_RUNTIME_VERSION", "JAVA_VERSION_DATE")
props = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
print("add:" + ":".join(f"{k}={props[k]}" for k in keys if k in props))
PY
)"
"$JDK/bin/jlink" --add-modules "$MODULES" --output "$ROOTFS/opt/java" --release-info "$RELEASE_INFO" \
  --strip-debug --no-header-files --no-man-pages --compress=zip-6
# The AOT cache replaces the JDK's default CDS archive.
rm -f "$ROOTFS"/opt/java/lib/server/classes*.jsa
echo "    $("$ROOTFS/opt/java/bin/java" -version 2>&1 | sed -n 2p), $(du -sh "$ROOTFS/opt/java" | cut -f1)"

# --- the broker ----------------------------------------------------------------------
say "broker: extract $JAR"
"$JDK/bin/java" -Djarmode=tools -jar "$JAR" extract --destination "$TARGET/work/app" >/dev/null
mkdir -p "$ROOTFS/opt/keybroker"
cp "$TARGET/work/app/"*.jar "$ROOTFS/opt/keybroker/keybroker.jar"
cp -r "$TARGET/work/app/lib" "$ROOTFS/opt/keybroker/lib"
BROKER_VERSION="$(python3 -c 'import sys, zipfile; m = zipfile.ZipFile(sys.argv[1]).read("META-INF/MANIFEST.MF").decode(); print(next((l.split(":", 1)[1].strip() for l in m.splitlines() if l.startswith("Implementation-Version:")), ""))' "$JAR")"
echo "    broker ${BROKER_VERSION:-?}: $(ls "$ROOTFS/opt/keybroker/lib" | wc -l) libraries"

# One time stamp for every file, before the training run: the AOT cache
# records the jar's modification time, and the image keeps it.
find "$ROOTFS" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# --- AOT training -------------------------------------------------------------------
# The one part of the image that is not bit-for-bit reproducible: the JVM writes
# the cache from a live training run (which classes a run loads, and the method
# profiles, vary with thread timing). It has its own layer, and a rebuild that
# is to match a published image takes that image's cache as an input
# (KEYBROKER_AOT_CACHE); every other layer is rebuilt from source.
if [[ -n "${KEYBROKER_AOT_CACHE:-}" ]]; then
  say "AOT cache: $KEYBROKER_AOT_CACHE (given; no training run)"
  [[ -s "$KEYBROKER_AOT_CACHE" ]] || die "KEYBROKER_AOT_CACHE=$KEYBROKER_AOT_CACHE is not a file"
  cp "$KEYBROKER_AOT_CACHE" "$TARGET/work/keybroker.aot"
else
say "AOT training run"
"$HERE/lib/make-fixture.sh" "$TARGET/work/fixture"
# In private mount and PID namespaces (as root, or as an unprivileged user via
# a user namespace): /proc, /dev and a tmpfs /tmp inside the image's root file
# system, then the image's own java under chroot. Nothing outlives the
# namespace. The host's network stays shared, so the host's curl reaches it.
NS_ARGS=(--mount --pid --fork --kill-child)
if [[ $EUID -ne 0 ]]; then NS_ARGS=(--user --map-root-user "${NS_ARGS[@]}"); fi
export ROOTFS HERE TARGET
export TRAIN_JAVA="chroot $ROOTFS /opt/java/bin/java"
export TRAIN_JVM_FLAGS="${ENTRY_FLAGS[*]:1} $DEFAULT_JDK_JAVA_OPTIONS"
export TRAIN_JAR=/opt/keybroker/keybroker.jar
export TRAIN_FIXTURE=/tmp/fixture TRAIN_FIXTURE_HOST="$ROOTFS/tmp/fixture"
export TRAIN_OUT=/tmp/keybroker.aot TRAIN_OUT_HOST="$ROOTFS/tmp/keybroker.aot"
export TRAIN_LOG="$TARGET/training.log"
unshare "${NS_ARGS[@]}" bash -euo pipefail -c '
  mount -t proc proc "$ROOTFS/proc"
  mount --rbind /dev "$ROOTFS/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$ROOTFS/tmp"
  cp -r "$TARGET/work/fixture" "$ROOTFS/tmp/fixture"
  "$HERE/lib/train.sh"
  cp "$ROOTFS/tmp/keybroker.aot" "$TARGET/work/keybroker.aot"
'
fi
install -m 0644 "$TARGET/work/keybroker.aot" "$ROOTFS/opt/keybroker/keybroker.aot"
touch -d "@$SOURCE_DATE_EPOCH" "$ROOTFS/opt/keybroker/keybroker.aot" "$ROOTFS/opt/keybroker"

# --- image ------------------------------------------------------------------------------
say "image $IMAGE"
python3 - "$TARGET/work/config.json" <<EOF
import json, sys
entry = ["/opt/java/bin/java"] + """${ENTRY_FLAGS[*]}""".split() + ["-jar", "/opt/keybroker/keybroker.jar"]
json.dump({
    "User": "$UID_GID:$UID_GID",
    "Entrypoint": entry,
    "Cmd": [],
    "WorkingDir": "/tmp",
    "Env": [
        "PATH=/opt/java/bin",
        "JAVA_HOME=/opt/java",
        "LANG=C.UTF-8",
        "JDK_JAVA_OPTIONS=$DEFAULT_JDK_JAVA_OPTIONS",
        "SPRING_PROFILES_ACTIVE=container",
    ],
    "StopSignal": "SIGTERM",
    "Labels": {
        "org.opencontainers.image.title": "keybroker",
        "org.opencontainers.image.description": "Keybroker secrets-broker sidecar",
        "org.opencontainers.image.version": "${BROKER_VERSION:-$APP_VERSION}",
        "org.opencontainers.image.revision": "$REVISION",
        "org.opencontainers.image.source": "$SOURCE_URL",
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.created": "$CREATED",
        "io.keybroker.libc6": "$LIBC_VERSION",
        "io.keybroker.java": "$("$ROOTFS/opt/java/bin/java" -version 2>&1 | sed -n 2p)",
    },
}, open(sys.argv[1], "w"), indent=2)
EOF
python3 "$HERE/lib/docker_archive.py" --rootfs "$ROOTFS" --config "$TARGET/work/config.json" \
  --tag "$IMAGE" --out "$OUT" --created "$CREATED" --arch amd64 --oci-layout "$TARGET/oci" \
  --annotation "org.opencontainers.image.version=${BROKER_VERSION:-$APP_VERSION}" \
  --annotation "org.opencontainers.image.revision=$REVISION" \
  --annotation "org.opencontainers.image.source=$SOURCE_URL" \
  --annotation "org.opencontainers.image.licenses=Apache-2.0" \
  --annotation "org.opencontainers.image.created=$CREATED" \
  --owner "home/nonroot=$UID_GID:$UID_GID" \
  --layer "Java runtime (jlink, Temurin JDK 25)=opt/java" \
  --layer "broker libraries=opt/keybroker/lib" \
  --layer "broker and its AOT cache=opt/keybroker/keybroker.jar,opt/keybroker/keybroker.aot"
# The image's SBOM, from what this script put in (the jar's own BOM for the Java libraries).
MANIFEST_DIGEST="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TARGET/oci/index.json")"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("META-INF/sbom/application.cdx.json"))' \
  "$JAR" >"$TARGET/work/jar.cdx.json" \
  || die "$JAR carries no META-INF/sbom/application.cdx.json (cyclonedx-maven-plugin in broker/pom.xml)"
python3 "$HERE/lib/image_sbom.py" --rootfs "$ROOTFS" --jar-bom "$TARGET/work/jar.cdx.json" \
  --digest "$MANIFEST_DIGEST" --name "${IMAGE%%:*}" --version "${BROKER_VERSION:-$APP_VERSION}" --arch amd64 \
  --created "$CREATED" --out "$TARGET/keybroker-image.cdx.json"
rm -rf "$TARGET/work"
echo
echo "built $OUT ($(du -h "$OUT" | cut -f1)) in $((SECONDS - START)) s"
echo "  runtime $(du -sh "$ROOTFS/opt/java" | cut -f1), broker $(du -sh --exclude=keybroker.aot "$ROOTFS/opt/keybroker" | cut -f1), AOT cache $(du -h "$ROOTFS/opt/keybroker/keybroker.aot" | cut -f1)"
echo "load it:  podman load -i $OUT"
