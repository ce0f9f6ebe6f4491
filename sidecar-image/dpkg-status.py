#!/usr/bin/env python3
"""dpkg-status.py DEB OUT: writes the package's record as an installed package, in the layout distroless images
use (/var/lib/dpkg/status.d/<package>, one file per package), which scanners (Trivy, Grype/Syft) read: without
it they cannot see that the image carries the package, nor which version. build.sh and build-arm64.sh use it."""
import subprocess
import sys

FIELDS = ["Package", "Version", "Architecture", "Multi-Arch", "Source", "Maintainer", "Installed-Size",
          "Section", "Priority", "Depends", "Homepage", "Description"]


def main(deb, out_path):
    out = []
    for field in FIELDS:
        value = subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True,
                               check=True).stdout.rstrip("\n")
        if value:
            out.append(f"{field}: {value}")
        if field == "Package":
            out.append("Status: install ok installed")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: dpkg-status.py DEB OUT")
    main(sys.argv[1], sys.argv[2])
