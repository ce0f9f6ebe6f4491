#!/usr/bin/env python3
"""Writes the CycloneDX 1.6 SBOM of the sidecar image from what build.sh put into it, so that vulnerability
scanners match every part of the runtime, not only the Java libraries:

  image_sbom.py --rootfs DIR --jar-bom application.cdx.json --digest sha256:... --name keybroker
                --version V --arch amd64 --created 2026-...Z --out keybroker-image.cdx.json

- the operating system as build.sh's /etc/os-release names it (Debian, whose libc6 the image carries);
- every Debian package recorded in /var/lib/dpkg/status.d/ (libc6), as pkg:deb/debian/NAME@VERSION?arch=&distro=;
- the Java runtime from /opt/java/release (the file jlink writes), with the OpenJDK CPE that vulnerability
  databases list JDK flaws under;
- the broker and every Java library from the jar's own CycloneDX BOM (cyclonedx-maven-plugin), Maven purls.

The image itself is metadata.component, a pkg:oci purl with its manifest digest. Deterministic: the serial
number is derived from the digest and the time stamp is the build's SOURCE_DATE_EPOCH, so one image has one SBOM.
"""
import argparse
import json
import os
import urllib.parse
import uuid


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("rootfs", "jar-bom", "digest", "name", "version", "arch", "created", "out"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--repository-url", default="")
    return p.parse_args()


def key_values(path):
    """KEY="value" lines (os-release, the JDK's release file)."""
    out = {}
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k] = v.strip().strip('"')
    return out


def deb_stanzas(status_dir):
    """Control stanzas of /var/lib/dpkg/status.d/* (the distroless layout: one file per package)."""
    if not os.path.isdir(status_dir):
        return
    for name in sorted(os.listdir(status_dir)):
        if "." in name:  # NAME.md5sums and the like
            continue
        fields, last = {}, None
        with open(os.path.join(status_dir, name)) as fh:
            for line in fh:
                line = line.rstrip("\n")
                if line.startswith((" ", "\t")) and last:
                    fields[last] += "\n" + line.strip()
                elif ":" in line:
                    last, value = line.split(":", 1)
                    fields[last] = value.strip()
        yield fields


def q(v):
    return urllib.parse.quote(v, safe="")


def main():
    a = parse_args()
    os_release = key_values(os.path.join(a.rootfs, "etc/os-release"))
    distro_id = os_release.get("ID", "debian")
    distro = f"{distro_id}-{os_release.get('VERSION_ID', '')}"
    components, top_refs = [], []

    os_ref = f"os:{distro}"
    components.append({
        "type": "operating-system", "bom-ref": os_ref, "name": distro_id,
        "version": os_release.get("VERSION_ID", ""),
        "description": os_release.get("PRETTY_NAME", ""),
    })
    top_refs.append(os_ref)

    debs = list(deb_stanzas(os.path.join(a.rootfs, "var/lib/dpkg/status.d")))
    if not debs:
        raise SystemExit("image_sbom.py: no Debian package recorded under var/lib/dpkg/status.d")
    for d in debs:
        purl = (f"pkg:deb/{distro_id}/{q(d['Package'])}@{q(d['Version'])}"
                f"?arch={q(d.get('Architecture', a.arch))}&distro={q(distro)}")
        comp = {"type": "library", "bom-ref": purl, "name": d["Package"], "version": d["Version"], "purl": purl,
                "supplier": {"name": d.get("Maintainer", "Debian")},
                "properties": [{"name": "keybroker:image:path", "value": f"/var/lib/dpkg/status.d/{d['Package']}"}]}
        if d.get("Source"):
            comp["properties"].append({"name": "deb:source", "value": d["Source"]})
        components.append(comp)
        top_refs.append(purl)

    release = key_values(os.path.join(a.rootfs, "opt/java/release"))
    full = release.get("JAVA_RUNTIME_VERSION") or release.get("JAVA_VERSION")
    if not full:
        raise SystemExit("image_sbom.py: opt/java/release names no JAVA_RUNTIME_VERSION / JAVA_VERSION")
    semantic = full.removesuffix("-LTS")          # 25.0.3+9
    plain = release.get("JAVA_VERSION", semantic.split("+")[0])  # 25.0.3
    jdk_purl = f"pkg:generic/oracle/openjdk@{q(semantic)}"
    components.append({
        "type": "platform", "bom-ref": jdk_purl, "name": "openjdk", "version": semantic,
        "description": f"Java runtime made by jlink from {release.get('IMPLEMENTOR', 'OpenJDK')} "
                       f"{release.get('IMPLEMENTOR_VERSION', semantic)}; modules: {release.get('MODULES', '?')}",
        "supplier": {"name": release.get("IMPLEMENTOR", "OpenJDK")},
        "licenses": [{"expression": "GPL-2.0-only WITH Classpath-exception-2.0"}],
        "purl": jdk_purl,
        "cpe": f"cpe:2.3:a:oracle:openjdk:{plain}:*:*:*:*:*:*:*",
        "properties": [
            {"name": "keybroker:image:path", "value": "/opt/java"},
            {"name": "java:runtime-version", "value": full},
            {"name": "java:implementor-version", "value": release.get("IMPLEMENTOR_VERSION", "")},
        ],
    })
    top_refs.append(jdk_purl)

    with open(a.jar_bom) as fh:
        jar = json.load(fh)
    broker = dict(jar["metadata"]["component"])
    broker.setdefault("properties", []).append({"name": "keybroker:image:path", "value": "/opt/keybroker"})
    components.append(broker)
    top_refs.append(broker["bom-ref"])
    components.extend(jar.get("components", []))

    image_purl = f"pkg:oci/{q(a.name)}@{q(a.digest)}?arch={q(a.arch)}"
    if a.repository_url:
        image_purl += f"&repository_url={q(a.repository_url)}"
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, image_purl)}",
        "version": 1,
        "metadata": {
            "timestamp": a.created,
            "tools": {"components": [{"type": "application", "name": "keybroker sidecar-image/lib/image_sbom.py"}]},
            "component": {"type": "container", "bom-ref": image_purl, "name": a.name, "version": a.version,
                          "purl": image_purl, "licenses": [{"license": {"id": "Apache-2.0"}}]},
        },
        "components": components,
        "dependencies": [{"ref": image_purl, "dependsOn": top_refs}] + jar.get("dependencies", []),
    }
    with open(a.out, "w") as fh:
        json.dump(bom, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print(f"image SBOM {a.out}: {len(components)} components "
          f"({', '.join(d['Package'] + ' ' + d['Version'] for d in debs)}; openjdk {semantic}; "
          f"{len(jar.get('components', []))} Java libraries)")


if __name__ == "__main__":
    main()
