#!/usr/bin/env bash
# The arm64 (aarch64) variant of the sidecar image, cross-built on an amd64 machine after build.sh:
#
#   sidecar-image/build.sh && sidecar-image/build-arm64.sh
#     -> sidecar-image/target/arm64/oci/                      (OCI image layout, linux/arm64)
#        sidecar-image/target/arm64/keybroker-image.cdx.json  (CycloneDX SBOM)
#
# EXPERIMENTAL: built, never run here. What differs from the amd64 image, and why:
# - Java runtime: the build machine's jlink (Temurin JDK 25, amd64) links Debian's arm64 jmods from
#   openjdk-25-jdk-headless (Debian 13 "trixie"; Debian 12 has no JDK 25, Temurin publishes no .deb of arm64
#   jmods on Debian's mirrors). jlink accepts jmods of the same feature release built for another platform.
#   Native libraries are stripped with llvm-objcopy (binutils' objcopy only reads the build machine's format).
# - Native libraries: Debian's JDK uses the system zlib and libstdc++ (Temurin carries its own), so the image
#   takes libc6, libgcc-s1, libstdc++6 and zlib1g from Debian 12 arm64, each recorded in
#   /var/lib/dpkg/status.d for scanners.
# - No AOT cache, so the entrypoint has no -XX:AOTCache: the cache comes from a training run, which has to execute
#   the arm64 JVM; this machine has no arm64 CPU and no binfmt_misc/qemu-user emulation. Start-up is that of a
#   plain JVM (several times slower than with the cache, docs/operations.md).
# - Netty's epoll transport and netty-tcnative are in the jar for linux-x86_64 only: on arm64 the broker uses
#   Java NIO and the JDK's TLS (both supported, slower).
# - sidecar-image/test-image.sh does not run it: there is no arm64 runtime here.
#
# Packages come from Debian's mirror through apt-get with a private state directory (nothing of the build
# machine's apt configuration changes); the .debs are cached in
# ${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}/debs-arm64. Needs: apt-get, dpkg-deb, python3, llvm-objcopy.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JDK="${KEYBROKER_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
AMD64="$HERE/target"
TARGET="$HERE/target/arm64"
ROOTFS="$TARGET/rootfs"
CACHE="${KEYBROKER_TOOL_CACHE:-$HOME/.cache/keybroker-tools}/debs-arm64"
TRIPLET=aarch64-linux-gnu
MODULES=java.base,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.security.sasl,java.sql,java.xml,java.xml.crypto,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.management,jdk.naming.dns,jdk.unsupported,jdk.zipfs
LIBC_FILES=(ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libnss_files.so.2 libnss_dns.so.2)
say() { printf '==> %s\n' "$*"; }
die() { printf 'build-arm64.sh: %s\n' "$*" >&2; exit 1; }

[[ -d "$AMD64/rootfs/opt/keybroker" && -f "$AMD64/oci/index.json" ]] || die "run sidecar-image/build.sh first (the arm64 image shares its broker layers and configuration)"
for t in apt-get dpkg-deb python3 llvm-objcopy; do command -v "$t" >/dev/null || die "$t is needed"; done
START=$SECONDS
rm -rf "$TARGET"
mkdir -p "$ROOTFS" "$TARGET/work" "$CACHE"

# --- Debian arm64 packages, with a private apt state --------------------------------------------------------
say "Debian arm64 packages"
APT_DIR="$CACHE/apt"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
cat >"$APT_DIR/sources.list" <<'EOF'
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
APT=(apt-get -q -o Dir::State="$APT_DIR" -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR"
     -o Dir::Etc::SourceList="$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::status=/dev/null
     -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o APT::Sandbox::User=root)
if [[ -z "$(find "$APT_DIR/lists" -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]]; then
  "${APT[@]}" update >"$TARGET/apt.log" 2>&1 || { tail "$TARGET/apt.log" >&2; die "apt-get update (arm64) failed"; }
fi
(cd "$CACHE" && "${APT[@]}" download libc6/bookworm libgcc-s1/bookworm libstdc++6/bookworm zlib1g/bookworm \
   openjdk-25-jdk-headless/trixie >>"$TARGET/apt.log" 2>&1) || { tail "$TARGET/apt.log" >&2; die "apt-get download (arm64) failed"; }
newest() { ls "$CACHE"/"$1"_*_arm64.deb | sort -V | tail -n1; }

mkdir -p "$ROOTFS/lib/$TRIPLET" "$ROOTFS/var/lib/dpkg/status.d"
status_entry() { # DEB: the package's control record in /var/lib/dpkg/status.d/NAME, as build.sh writes libc6's
  python3 "$HERE/dpkg-status.py" "$1" "$ROOTFS/var/lib/dpkg/status.d/$(dpkg-deb -f "$1" Package)"
}
versions=()
for pkg in libc6 libgcc-s1 libstdc++6 zlib1g; do
  deb="$(newest "$pkg")"
  rm -rf "$TARGET/work/$pkg" && dpkg-deb -x "$deb" "$TARGET/work/$pkg"
  case "$pkg" in
    libc6) for f in "${LIBC_FILES[@]}"; do cp -L "$TARGET/work/$pkg/lib/$TRIPLET/$f" "$ROOTFS/lib/$TRIPLET/$f"; done
           LIBC_VERSION="$(dpkg-deb -f "$deb" Version)" ;;
    *) find "$TARGET/work/$pkg" -name '*.so.*' ! -name '*.py' \( -type f -o -type l \) -path "*/$TRIPLET/*" -exec cp -a {} "$ROOTFS/lib/$TRIPLET/" \; ;;
  esac
  if [[ -f "$TARGET/work/$pkg/usr/share/doc/$pkg/copyright" ]]; then  # (libgcc-s1's doc is a link to gcc's)
    mkdir -p "$ROOTFS/usr/share/doc/$pkg"
    cp "$TARGET/work/$pkg/usr/share/doc/$pkg/copyright" "$ROOTFS/usr/share/doc/$pkg/copyright"
  fi
  status_entry "$deb"
  versions+=("$pkg $(dpkg-deb -f "$deb" Version)")
done
ln -s "$TRIPLET/ld-linux-aarch64.so.1" "$ROOTFS/lib/ld-linux-aarch64.so.1"
echo "    ${versions[*]}"

# --- Java runtime: the build machine's jlink, Debian's arm64 jmods --------------------------------------------
JDK_DEB="$(newest openjdk-25-jdk-headless)"
say "jlink: arm64 runtime from $(basename "$JDK_DEB")"
dpkg-deb --fsys-tarfile "$JDK_DEB" | tar -x -C "$TARGET/work" --wildcards './usr/lib/jvm/java-25-openjdk-arm64/jmods/*'
ARM_JDK="$TARGET/work/usr/lib/jvm/java-25-openjdk-arm64"
# Debian's version 25.0.5+8-1~deb13u1 is OpenJDK 25.0.5+8 (the release file is in another package).
DEB_VERSION="$(dpkg-deb -f "$JDK_DEB" Version)"
RELEASE_INFO="add:IMPLEMENTOR=\"Debian\":IMPLEMENTOR_VERSION=\"Debian-$DEB_VERSION\":JAVA_RUNTIME_VERSION=\"${DEB_VERSION%%-*}\""
"$JDK/bin/jlink" --module-path "$ARM_JDK/jmods" --add-modules "$MODULES" --output "$ROOTFS/opt/java" \
  --release-info "$RELEASE_INFO" --strip-java-debug-attributes \
  --strip-native-debug-symbols "objcopy=$(command -v llvm-objcopy)" \
  --no-header-files --no-man-pages --compress=zip-6
rm -f "$ROOTFS"/opt/java/lib/server/classes*.jsa
# Debian's jmods carry separate debug files (libjvm.debuginfo alone is 600 MB): not part of a runtime.
find "$ROOTFS/opt/java" -name '*.debuginfo' -delete
JAVA_LINE="$(sed -n 's/^JAVA_RUNTIME_VERSION=//p; s/^IMPLEMENTOR=//p' "$ROOTFS/opt/java/release" | tr -d '"' | paste -sd' ')"
echo "    $JAVA_LINE, $(du -sh "$ROOTFS/opt/java" | cut -f1)"

# --- everything else as in the amd64 image (no AOT cache) -----------------------------------------------------
(cd "$AMD64/rootfs" && tar -c --exclude=./lib --exclude=./lib64 --exclude=./opt/java --exclude=./var/lib/dpkg \
   --exclude=./opt/keybroker/keybroker.aot --exclude='./tmp/*' .) | tar -x -C "$ROOTFS"
DEBIAN_VERSION_ID="$(sed -n 's/^VERSION_ID="\(.*\)"/\1/p' "$ROOTFS/etc/os-release")"
sed -i "s/^PRETTY_NAME=.*/PRETTY_NAME=\"Keybroker sidecar arm64 (Debian $DEBIAN_VERSION_ID libc6 $LIBC_VERSION, Debian OpenJDK 25 runtime)\"/" \
  "$ROOTFS/etc/os-release"
SOURCE_DATE_EPOCH="$(python3 -c 'import os,sys; print(int(os.stat(sys.argv[1]).st_mtime))' "$AMD64/rootfs/opt/keybroker/keybroker.jar")"
find "$ROOTFS" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# The amd64 image's configuration and annotations, for arm64 and without -XX:AOTCache.
python3 - "$AMD64/oci" "$TARGET/work" "$LIBC_VERSION" "$JAVA_LINE" <<'PY'
import json, os, sys
layout, work, libc, java = sys.argv[1:5]
blob = lambda d: os.path.join(layout, "blobs", "sha256", d.split(":")[1])
index = json.load(open(os.path.join(layout, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
c = config["config"]
c["Entrypoint"] = [a for a in c["Entrypoint"] if not a.startswith("-XX:AOTCache")]
c["Labels"]["io.keybroker.libc6"] = libc
c["Labels"]["io.keybroker.java"] = java
json.dump(c, open(os.path.join(work, "config.json"), "w"), indent=2)
ann = manifest.get("annotations", {})
open(os.path.join(work, "annotations"), "w").write("".join(f"{k}={v}\n" for k, v in sorted(ann.items())))
open(os.path.join(work, "meta"), "w").write("\n".join([config["created"], index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], c["Labels"].get("org.opencontainers.image.version", "")]) + "\n")
PY
{ read -r CREATED; read -r TAG; read -r VERSION; } <"$TARGET/work/meta"
ANN=(); while IFS= read -r a; do ANN+=(--annotation "$a"); done <"$TARGET/work/annotations"

say "image $TAG (linux/arm64)"
python3 "$HERE/lib/docker_archive.py" --rootfs "$ROOTFS" --config "$TARGET/work/config.json" \
  --tag "$TAG" --out "$TARGET/keybroker-image.tar" --created "$CREATED" --arch arm64 \
  --oci-layout "$TARGET/oci" "${ANN[@]}" --owner "home/nonroot=65532:65532" \
  --layer "Java runtime (jlink, Debian OpenJDK 25 arm64 jmods)=opt/java" \
  --layer "broker libraries=opt/keybroker/lib" \
  --layer "broker=opt/keybroker/keybroker.jar"
rm -f "$TARGET/keybroker-image.tar"
DIGEST="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TARGET/oci/index.json")"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("META-INF/sbom/application.cdx.json"))' \
  "$ROOTFS/opt/keybroker/keybroker.jar" >"$TARGET/work/jar.cdx.json" 2>/dev/null \
  || cp "$AMD64/../../broker/target/classes/META-INF/sbom/application.cdx.json" "$TARGET/work/jar.cdx.json"
python3 "$HERE/lib/image_sbom.py" --rootfs "$ROOTFS" --jar-bom "$TARGET/work/jar.cdx.json" --digest "$DIGEST" \
  --name keybroker --version "$VERSION" --arch arm64 --created "$CREATED" --out "$TARGET/keybroker-image.cdx.json"
rm -rf "$TARGET/work"
echo "built $TARGET/oci (linux/arm64, $DIGEST) in $((SECONDS - START)) s; not run here (no arm64 CPU or emulator)"
