#!/usr/bin/env python3
"""Writes the SLSA v1 provenance predicate (https://slsa.dev/provenance/v1) of a scripts/release.sh run.

`cosign attest --type slsaprovenance1 --predicate FILE IMAGE` wraps it in an in-toto statement whose subject is
the image's digest and signs it. The predicate names what went in: the source (repository and commit), the
Debian libc6 package and the JDK the runtime was linked from (from the image SBOM), and lists the other files of
the release with their sha256, so one signed statement covers the jar, the chart and the launcher too.

The builder is the machine that ran release.sh (SLSA Build L1: the provenance exists and is signed, but nothing
stops that machine from lying); a hosted CI builder with its own identity would raise that to L2/L3.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import time


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--dirty", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--source-date-epoch", required=True)
    p.add_argument("--started", type=int, required=True, help="start of the release run, seconds since the epoch")
    p.add_argument("--jdk", required=True)
    p.add_argument("--image-sbom", required=True)
    p.add_argument("--subject", action="append", default=[])
    a = p.parse_args()

    with open(a.image_sbom) as fh:
        sbom = json.load(fh)
    deps = [{"uri": f"git+{a.source}@{a.revision}", "digest": {"gitCommit": a.revision}}]
    for c in sbom["components"]:
        if c.get("purl", "").startswith(("pkg:deb/", "pkg:generic/")):
            deps.append({"uri": c["purl"], "name": c["name"],
                         "annotations": {"version": c.get("version", ""),
                                         "role": "Debian package in the image" if c["purl"].startswith("pkg:deb/")
                                         else f"Java runtime in the image, jlinked from {a.jdk}"}})
    now = time.time()
    predicate = {
        "buildDefinition": {
            "buildType": "urn:keybroker:release-sh:v1",
            "externalParameters": {
                "source": {"uri": a.source, "digest": {"gitCommit": a.revision}},
                "version": a.version,
                "entryPoint": "scripts/release.sh",
            },
            "internalParameters": {
                "SOURCE_DATE_EPOCH": a.source_date_epoch,
                "workingTreeDirty": a.dirty == "true",
            },
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {"id": f"urn:keybroker:builder:release-sh:{platform.node() or 'unknown-host'}"},
            "metadata": {"startedOn": iso(a.started), "finishedOn": iso(now)},
            "byproducts": [{"name": os.path.basename(s), "digest": {"sha256": sha256(s)}} for s in a.subject],
        },
    }
    with open(a.out, "w") as fh:
        json.dump(predicate, fh, indent=2, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
