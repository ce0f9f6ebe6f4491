#!/usr/bin/env python3
"""Writes a container image as a docker-archive tarball (the format of
`docker save`, accepted by `podman load` and `docker load`) from a root file
system directory, with no container engine; with --oci-layout also as an OCI
image layout directory (gzip layers; what scripts/release.sh pushes and signs).

  docker_archive.py --rootfs DIR --config CONFIG.json --tag NAME:TAG --out FILE
                    --layer "description=path[,path...]" ... [--owner PATH=UID:GID ...]
                    [--arch amd64] [--oci-layout DIR] [--annotation KEY=VALUE ...]

Each --layer takes the listed paths (relative to DIR, recursively); a final
layer takes everything not listed yet. Layers are uncompressed, entries are
sorted and owned by root unless --owner says otherwise, and modification times
are kept as they are in DIR (build.sh sets them to one fixed time before the
AOT training, so the cache's class-path check and the image agree), so the same
input gives the same image ID.

CONFIG.json holds the image's "config" section (User, Entrypoint, Env, ...).
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rootfs", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--tag", required=True, action="append")
    p.add_argument("--out", required=True)
    p.add_argument("--layer", action="append", default=[])
    p.add_argument("--owner", action="append", default=[])
    p.add_argument("--created", default="1970-01-01T00:00:00Z")
    p.add_argument("--arch", default="amd64")
    p.add_argument("--oci-layout")
    p.add_argument("--annotation", action="append", default=[])
    return p.parse_args()


def walk(rootfs, rel):
    """rel and everything under it, sorted, as paths relative to rootfs."""
    full = os.path.join(rootfs, rel)
    yield rel
    if os.path.isdir(full) and not os.path.islink(full):
        for name in sorted(os.listdir(full)):
            yield from walk(rootfs, os.path.join(rel, name))


def parents(rel):
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def build_layer(rootfs, rels, owners, path):
    seen = set()
    with open(path, "wb") as fh, tarfile.open(fileobj=fh, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(rel, recurse_parents=True):
            if rel in seen:
                return
            seen.add(rel)
            full = os.path.join(rootfs, rel)
            st = os.lstat(full)
            ti = tarfile.TarInfo(rel)
            ti.mtime = int(st.st_mtime)
            ti.mode = stat.S_IMODE(st.st_mode)
            uid, gid = owners.get(rel, (0, 0))
            ti.uid, ti.gid, ti.uname, ti.gname = uid, gid, "", ""
            if stat.S_ISLNK(st.st_mode):
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(full)
                tar.addfile(ti)
            elif stat.S_ISDIR(st.st_mode):
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            elif stat.S_ISREG(st.st_mode):
                ti.size = st.st_size
                with open(full, "rb") as src:
                    tar.addfile(ti, src)
            else:
                raise SystemExit(f"unsupported file type in the image: {rel}")
        for rel in rels:
            for parent in parents(rel):
                add(parent)
            for item in walk(rootfs, rel):
                add(item)
    return sha256_file(path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_oci_layout(a, config_bytes, layer_files):
    """An OCI image layout: oci-layout, index.json, blobs/sha256/{config, gzip layers, manifest}."""
    blobs = os.path.join(a.oci_layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as fh:
            fh.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    layers = []
    for _, tmp in layer_files:
        gz = os.path.join(blobs, "layer.tmp")
        with open(tmp, "rb") as src, open(gz, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    out.write(chunk)
        digest = sha256_file(gz)
        os.replace(gz, os.path.join(blobs, digest))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + digest, "size": os.path.getsize(os.path.join(blobs, digest))})
    annotations = dict(kv.split("=", 1) for kv in a.annotation)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config_bytes)},
        "layers": layers,
    }
    if annotations:
        manifest["annotations"] = annotations
    m = put(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
    ref = a.tag[0]  # NAME:TAG: podman load takes the name from here (a bare tag would be read as a name)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **m,
                       "platform": {"architecture": a.arch, "os": "linux"},
                       "annotations": {"org.opencontainers.image.ref.name": ref}}],
    }
    with open(os.path.join(a.oci_layout, "index.json"), "w") as fh:
        json.dump(index, fh, sort_keys=True, separators=(",", ":"))
    with open(os.path.join(a.oci_layout, "oci-layout"), "w") as fh:
        json.dump({"imageLayoutVersion": "1.0.0"}, fh)
    print(f"OCI manifest {m['digest']} ({a.oci_layout})")


def main():
    a = parse_args()
    rootfs = os.path.abspath(a.rootfs)
    owners = {}
    for o in a.owner:
        rel, ids = o.split("=", 1)
        uid, gid = ids.split(":")
        owners[rel.strip("/")] = (int(uid), int(gid))
    layers, claimed = [], set()
    for spec in a.layer:
        desc, paths = spec.split("=", 1)
        rels = [p.strip("/") for p in paths.split(",") if p.strip("/")]
        for rel in rels:
            if not os.path.lexists(os.path.join(rootfs, rel)):
                raise SystemExit(f"--layer {desc}: {rel} is not in {rootfs}")
            claimed.add(rel)
        layers.append((desc, rels))
    # Everything not claimed goes in a first "base" layer.
    rest = []
    for rel in walk(rootfs, "."):
        rel = os.path.normpath(rel)
        if rel == ".":
            continue
        if any(rel == c or rel.startswith(c + "/") for c in claimed):
            continue
        if any(c.startswith(rel + "/") for c in claimed):
            continue  # a parent directory of a claimed path: added with that layer
        rest.append(rel)
    # Keep only top-most entries of "rest" (walk() recurses).
    top = [r for r in rest if not any(r.startswith(o + "/") for o in rest if o != r)]
    layers.insert(0, ("base file system: glibc from Debian, /etc files, mount points", top))

    with open(a.config) as fh:
        image_config = json.load(fh)

    work = a.out + ".d"
    os.makedirs(work, exist_ok=True)
    diff_ids, layer_files, history = [], [], []
    for i, (desc, rels) in enumerate(layers):
        tmp = os.path.join(work, f"layer{i}.tar")
        digest = build_layer(rootfs, rels, owners, tmp)
        diff_ids.append("sha256:" + digest)
        layer_files.append((digest, tmp))
        history.append({"created": a.created, "created_by": f"sidecar-image/build.sh: {desc}"})

    config = {
        "architecture": a.arch,
        "os": "linux",
        "created": a.created,
        "config": image_config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    image_id = hashlib.sha256(config_bytes).hexdigest()
    manifest = [{
        "Config": f"{image_id}.json",
        "RepoTags": a.tag,
        "Layers": [f"{d}/layer.tar" for d, _ in layer_files],
    }]

    def add_bytes(tar, name, data, mode=0o644):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), mode, 0
        tar.addfile(ti, io.BytesIO(data))

    with tarfile.open(a.out, "w", format=tarfile.GNU_FORMAT) as tar:
        add_bytes(tar, f"{image_id}.json", config_bytes)
        for digest, tmp in layer_files:
            ti = tarfile.TarInfo(digest)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(ti)
            ti = tar.gettarinfo(tmp, arcname=f"{digest}/layer.tar")
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname, ti.mode = 0, 0, 0, "", "", 0o644
            with open(tmp, "rb") as src:
                tar.addfile(ti, src)
        add_bytes(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        repos = {}
        for t in a.tag:
            repo, tag = t.rsplit(":", 1)
            repos.setdefault(repo, {})[tag] = image_id
        add_bytes(tar, "repositories", json.dumps(repos, separators=(",", ":")).encode())
    if a.oci_layout:
        write_oci_layout(a, config_bytes, layer_files)
    for _, tmp in layer_files:
        os.remove(tmp)
    os.rmdir(work)
    print(f"image sha256:{image_id}")
    for (desc, _), (digest, _) in zip(layers, layer_files):
        print(f"  layer sha256:{digest[:12]}  {desc}")


if __name__ == "__main__":
    main()
