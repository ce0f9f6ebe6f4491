#!/usr/bin/env bash
# Builds a Keybroker release into dist/ and, given a registry, publishes and signs it:
#
#   scripts/release.sh [--out DIR] [--registry HOST[:PORT][/PATH]] [--key COSIGN_KEY] [--plain-http]
#                      [--skip-jar-build] [--arm64]
#
# Always (no container engine, no registry needed):
#   dist/keybroker-V.jar                  the broker and its CLI (Spring Boot jar, reproducible)
#   dist/keybroker                        launcher: finds a Java 17+ runtime, runs the CLI (`keybroker policy check DIR`)
#   dist/keybroker-V.jar.cdx.json         CycloneDX SBOM of the jar (cyclonedx-maven-plugin)
#   dist/keybroker-image-V.oci.tar        the sidecar image, OCI image layout in a tar (`podman load -i` takes it);
#                                         same commit, same image digest
#   dist/keybroker-image-V.cdx.json       CycloneDX SBOM of the image: Debian libc6, the Java runtime, every library
#   dist/keybroker-image-V.digest         the image's manifest digest (sha256:...)
#   dist/keybroker-CHART_V.tgz            the Helm chart (helm package)
#   dist/provenance.slsa.json             SLSA v1 provenance predicate of this build (in-toto)
#   dist/SHA256SUMS                       checksums of the files above
# With --arm64 (experimental, sidecar-image/build-arm64.sh: cross-built, no AOT cache, never run here):
#   dist/keybroker-image-V-arm64.oci.tar, .cdx.json, .digest; with --registry pushed as REGISTRY/keybroker:V-arm64
#   and signed, its SBOM attested, like the amd64 image
# With --registry (and --key):
#   pushes the image (byte for byte, crane) as REGISTRY/keybroker:V and the chart (helm push) as
#   oci://REGISTRY/charts/keybroker:CHART_V; signs both with cosign; attaches the image SBOM and the provenance
#   as signed in-toto attestations (cosign attest --type cyclonedx / slsaprovenance1); signs SHA256SUMS
#   (dist/SHA256SUMS.sig). The key is a cosign key (cosign generate-key-pair; its password in COSIGN_PASSWORD),
#   or any KMS URI cosign takes (awskms://, gcpkms://, hashivault://...). Nothing goes to a transparency log
#   (--tlog-upload=false): keyless signing with Sigstore's public Fulcio/Rekor is described in docs/install.md.
#
# Environment: SOURCE_DATE_EPOCH (default: the commit's time), KEYBROKER_SOURCE_URL (the image's source label;
# default git remote origin), KEYBROKER_LIBC6_DEB and KEYBROKER_JDK (see sidecar-image/build.sh).
# Tools: ./mvnw and JDK 17+ (jar), JDK 25 (image), python3; helm (chart); crane and cosign for --registry
# (scripts/install-release-tools.sh builds them; .tools/bin is put on PATH).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.tools/bin:$PATH"

OUT="$ROOT/dist"
REGISTRY=""
KEY=""
PLAIN_HTTP=false
BUILD_JAR=true
ARM64=false
while (($#)); do
  case "$1" in
    --out) OUT="$(realpath -m "$2")"; shift 2 ;;
    --registry) REGISTRY="${2%/}"; shift 2 ;;
    --key) KEY="$2"; shift 2 ;;
    --plain-http) PLAIN_HTTP=true; shift ;;
    --skip-jar-build) BUILD_JAR=false; shift ;;
    --arm64) ARM64=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "release.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[release] %s\n' "$*"; }
die() { printf 'release.sh: %s\n' "$*" >&2; exit 1; }
if [[ -n "$REGISTRY" ]]; then
  [[ -n "$KEY" ]] || die "--registry needs --key: a release is only published signed"
  for t in crane cosign helm; do command -v "$t" >/dev/null || die "$t is needed for --registry (scripts/install-release-tools.sh; helm: scripts/install-tools.sh)"; done
fi
command -v helm >/dev/null || die "helm is needed to package the chart (scripts/install-tools.sh)"
T0=$SECONDS
STARTED="$(date +%s)"

# ---- what is being released -----------------------------------------------------------------------------------
VERSION="$(python3 -c 'import sys, xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().find("{http://maven.apache.org/POM/4.0.0}version").text)' pom.xml)"
CHART_VERSION="$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' helm/Chart.yaml)"
REVISION="$(git rev-parse HEAD)"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
export KEYBROKER_SOURCE_URL="${KEYBROKER_SOURCE_URL:-$(git remote get-url origin 2>/dev/null || echo unknown)}"
DIRTY=false
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  DIRTY=true
  say "WARNING: the working tree has uncommitted changes; the artifacts say revision $REVISION but are not that commit"
fi
say "Keybroker $VERSION (chart $CHART_VERSION), revision $REVISION, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
rm -rf "$OUT"
mkdir -p "$OUT"

# ---- the jar, its SBOM and the launcher -------------------------------------------------------------------------
if $BUILD_JAR; then
  say "jar: ./mvnw package (reproducible: every entry dated $SOURCE_DATE_EPOCH)"
  ./mvnw -B -ntp -q -pl broker -am package -DskipTests -Dproject.build.outputTimestamp="$SOURCE_DATE_EPOCH"
fi
JAR="$OUT/keybroker-$VERSION.jar"
cp broker/target/keybroker.jar "$JAR"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("META-INF/sbom/application.cdx.json"))' \
  "$JAR" >"$JAR.cdx.json" || die "the jar carries no CycloneDX SBOM (cyclonedx-maven-plugin in broker/pom.xml)"
sed "s/@VERSION@/$VERSION/" scripts/release/keybroker-launcher.sh >"$OUT/keybroker"
chmod 0755 "$OUT/keybroker"

# ---- the image and its SBOM -----------------------------------------------------------------------------------
say "image: sidecar-image/build.sh"
KEYBROKER_JAR="$ROOT/broker/target/keybroker.jar" KEYBROKER_IMAGE="keybroker:$VERSION" \
  sidecar-image/build.sh >"$OUT/.image-build.log" 2>&1 || { tail -n 30 "$OUT/.image-build.log" >&2; die "image build failed"; }
grep -E '^(image|OCI manifest|image SBOM|built)' "$OUT/.image-build.log" | sed 's/^/    /'
rm -f "$OUT/.image-build.log"
IMAGE_TAR="$OUT/keybroker-image-$VERSION.oci.tar"
# A tar of the OCI layout with fixed order, owners and times: the same layout gives the same file.
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C sidecar-image/target/oci -cf "$IMAGE_TAR" .
cp sidecar-image/target/keybroker-image.cdx.json "$OUT/keybroker-image-$VERSION.cdx.json"
DIGEST="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' sidecar-image/target/oci/index.json)"
echo "$DIGEST" >"$OUT/keybroker-image-$VERSION.digest"

IMAGES=("$VERSION|sidecar-image/target/oci|$DIGEST|$OUT/keybroker-image-$VERSION.cdx.json")
if $ARM64; then
  say "image (arm64, experimental): sidecar-image/build-arm64.sh"
  sidecar-image/build-arm64.sh >"$OUT/.image-build.log" 2>&1 || { tail -n 30 "$OUT/.image-build.log" >&2; die "arm64 image build failed"; }
  rm -f "$OUT/.image-build.log"
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C sidecar-image/target/arm64/oci \
    -cf "$OUT/keybroker-image-$VERSION-arm64.oci.tar" .
  cp sidecar-image/target/arm64/keybroker-image.cdx.json "$OUT/keybroker-image-$VERSION-arm64.cdx.json"
  ARM64_DIGEST="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' sidecar-image/target/arm64/oci/index.json)"
  echo "$ARM64_DIGEST" >"$OUT/keybroker-image-$VERSION-arm64.digest"
  IMAGES+=("$VERSION-arm64|sidecar-image/target/arm64/oci|$ARM64_DIGEST|$OUT/keybroker-image-$VERSION-arm64.cdx.json")
fi

# ---- the chart -------------------------------------------------------------------------------------------------
helm package helm --destination "$OUT" >/dev/null
CHART_TGZ="$OUT/keybroker-$CHART_VERSION.tgz"
[[ -f "$CHART_TGZ" ]] || die "helm package wrote no $CHART_TGZ"

# ---- provenance (SLSA v1 predicate; cosign wraps it in an in-toto statement whose subject is the image) ---------
python3 scripts/release/provenance.py --out "$OUT/provenance.slsa.json" --source "$KEYBROKER_SOURCE_URL" \
  --revision "$REVISION" --dirty "$DIRTY" --version "$VERSION" --source-date-epoch "$SOURCE_DATE_EPOCH" \
  --started "$STARTED" --jdk "${KEYBROKER_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}" \
  --image-sbom "$OUT/keybroker-image-$VERSION.cdx.json" \
  --subject "$IMAGE_TAR" --subject "$JAR" --subject "$CHART_TGZ" --subject "$OUT/keybroker"

(cd "$OUT" && sha256sum keybroker "keybroker-$VERSION.jar" "keybroker-$VERSION.jar.cdx.json" \
  keybroker-image-"$VERSION"*.oci.tar keybroker-image-"$VERSION"*.cdx.json keybroker-image-"$VERSION"*.digest \
  "keybroker-$CHART_VERSION.tgz" provenance.slsa.json >SHA256SUMS)
say "dist: $OUT (image $DIGEST)"

# ---- publish and sign -----------------------------------------------------------------------------------------
if [[ -n "$REGISTRY" ]]; then
  http=(); helm_http=()
  if $PLAIN_HTTP; then http=(--insecure); helm_http=(--plain-http); fi
  # Signatures and attestations stay in the registry and in dist/; nothing is sent to Sigstore's public log.
  sign=(--key "$KEY" --tlog-upload=false --yes)
  IMAGE_REF="$REGISTRY/keybroker"
  for spec in "${IMAGES[@]}"; do
    IFS='|' read -r tag layout digest sbom <<<"$spec"
    say "push image $IMAGE_REF:$tag"
    crane push "${http[@]}" "$layout" "$IMAGE_REF:$tag" >/dev/null 2>"$OUT/.crane.log" \
      || { cat "$OUT/.crane.log" >&2; die "crane push failed"; }
    pushed="$(crane digest "${http[@]}" "$IMAGE_REF:$tag")"
    [[ "$pushed" == "$digest" ]] || die "the registry holds $pushed for $IMAGE_REF:$tag, not the built $digest"
    say "sign $IMAGE_REF@$digest; attest its SBOM (cyclonedx) and provenance (slsaprovenance1)"
    cosign sign "${sign[@]}" "$IMAGE_REF@$digest" 2>"$OUT/.cosign.log" || { cat "$OUT/.cosign.log" >&2; die "cosign sign failed"; }
    cosign attest "${sign[@]}" --type cyclonedx --predicate "$sbom" "$IMAGE_REF@$digest" \
      2>"$OUT/.cosign.log" || { cat "$OUT/.cosign.log" >&2; die "cosign attest (SBOM) failed"; }
    cosign attest "${sign[@]}" --type slsaprovenance1 --predicate "$OUT/provenance.slsa.json" "$IMAGE_REF@$digest" \
      2>"$OUT/.cosign.log" || { cat "$OUT/.cosign.log" >&2; die "cosign attest (provenance) failed"; }
  done

  say "push chart oci://$REGISTRY/charts"
  helm push "$CHART_TGZ" "oci://$REGISTRY/charts" "${helm_http[@]}" >"$OUT/.helm-push.log" 2>&1 \
    || { cat "$OUT/.helm-push.log" >&2; die "helm push failed"; }
  CHART_DIGEST="$(sed -n 's/^Digest: *//p' "$OUT/.helm-push.log")"
  [[ -n "$CHART_DIGEST" ]] || CHART_DIGEST="$(crane digest "${http[@]}" "$REGISTRY/charts/keybroker:$CHART_VERSION")"
  cosign sign "${sign[@]}" "$REGISTRY/charts/keybroker@$CHART_DIGEST" 2>"$OUT/.cosign.log" \
    || { cat "$OUT/.cosign.log" >&2; die "cosign sign (chart) failed"; }
  echo "$CHART_DIGEST" >"$OUT/keybroker-$CHART_VERSION.tgz.digest"

  cosign sign-blob --key "$KEY" --tlog-upload=false --yes --output-signature "$OUT/SHA256SUMS.sig" "$OUT/SHA256SUMS" \
    2>"$OUT/.cosign.log" || { cat "$OUT/.cosign.log" >&2; die "cosign sign-blob failed"; }
  rm -f "$OUT/.cosign.log" "$OUT/.helm-push.log" "$OUT/.crane.log"
  say "published: $IMAGE_REF:$VERSION@$DIGEST, oci://$REGISTRY/charts/keybroker:$CHART_VERSION@$CHART_DIGEST"
fi
say "done in $((SECONDS - T0))s"
