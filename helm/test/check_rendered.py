#!/usr/bin/env python3
"""Checks on rendered Keybroker manifests that neither kubernetes-validate nor
checkov make.

  check_rendered.py cert-manager FILE...
      Validates cert-manager.io/v1 objects against the cert-manager 1.17 API
      (pydantic models generated from cert-manager's CRDs, package
      cloudcoil-models-cert-manager), with unknown fields rejected.
  check_rendered.py restricted FILE...
      Every pod template meets the Pod Security "restricted" profile, and
      every Keybroker sidecar is a native sidecar with its probes.
  check_rendered.py spiffe NAMESPACE TRUST_DOMAIN FILE...
      Every client Certificate carries exactly one URI SAN
      spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/<serviceaccount>.

Exit status 1 with one line per problem on any failure.
"""
import inspect
import re
import sys

import yaml

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}


def load(files):
    for f in files:
        with open(f) as fh:
            for doc in yaml.safe_load_all(fh):
                if doc:
                    yield f, doc


def name(doc):
    return f'{doc.get("kind")}/{doc.get("metadata", {}).get("name")}'


def cert_manager(files):
    import pydantic
    from cloudcoil.models.cert_manager import v1

    classes = [c for c in vars(v1).values()
               if inspect.isclass(c) and issubclass(c, pydantic.BaseModel)
               and c.__module__.startswith("cloudcoil.models.cert_manager")]
    for c in classes:
        c.model_config["extra"] = "forbid"
    for c in classes:
        c.model_rebuild(force=True)
    problems, count = [], 0
    for f, doc in load(files):
        if not str(doc.get("apiVersion", "")).startswith("cert-manager.io/"):
            continue
        if doc.get("apiVersion") != "cert-manager.io/v1":
            problems.append(f"{f}: {name(doc)}: unsupported apiVersion {doc['apiVersion']}")
            continue
        cls = getattr(v1, doc["kind"], None)
        if cls is None:
            problems.append(f"{f}: {name(doc)}: unknown cert-manager kind")
            continue
        try:
            cls.model_validate(doc)
            count += 1
            print(f"PASS {f}: {name(doc)} (cert-manager.io/v1)")
        except pydantic.ValidationError as e:
            problems.append(f"{f}: {name(doc)}: {e}")
    return problems, count


def pod_spec(doc):
    spec = doc.get("spec", {})
    if doc.get("kind") == "Pod":
        return spec
    if doc.get("kind") == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if doc.get("kind") in POD_KINDS:
        return spec.get("template", {}).get("spec")
    return None


def restricted(files):
    problems, count = [], 0
    for f, doc in load(files):
        spec = pod_spec(doc)
        if spec is None:
            continue
        count += 1
        where = f"{f}: {name(doc)}"
        psc = spec.get("securityContext", {})
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                problems.append(f"{where}: {key} is set")
        for vol in spec.get("volumes", []):
            kinds = set(vol) - {"name"}
            if not kinds <= ALLOWED_VOLUMES:
                problems.append(f"{where}: volume {vol['name']} of type {kinds} is not allowed")
        containers = [("initContainers", c) for c in spec.get("initContainers", [])] + \
                     [("containers", c) for c in spec.get("containers", [])]
        for group, c in containers:
            cw = f"{where}: {group}/{c['name']}"
            sc = c.get("securityContext", {})
            if not (sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True):
                problems.append(f"{cw}: runAsNonRoot is not true")
            uid = sc.get("runAsUser", psc.get("runAsUser"))
            if not isinstance(uid, int) or uid == 0:
                problems.append(f"{cw}: runAsUser must be a numeric non-zero UID, got {uid!r}")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cw}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                problems.append(f"{cw}: privileged")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{cw}: readOnlyRootFilesystem is not true")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []):
                problems.append(f"{cw}: capabilities do not drop ALL")
            if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
                problems.append(f"{cw}: adds capabilities {caps['add']}")
            seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{cw}: seccompProfile is {seccomp!r}")
            if c.get("ports"):
                for p in c["ports"]:
                    if p.get("hostPort"):
                        problems.append(f"{cw}: hostPort {p['hostPort']}")
            if c["name"] == "keybroker":
                if group != "initContainers" or c.get("restartPolicy") != "Always":
                    problems.append(f"{cw}: the Keybroker sidecar must be an init container with restartPolicy: Always")
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    if probe not in c:
                        problems.append(f"{cw}: no {probe}")
                res = c.get("resources", {})
                if not res.get("requests", {}).get("memory") or not res.get("limits", {}).get("memory"):
                    problems.append(f"{cw}: memory request and limit must be set")
        print(f"PASS {where}: restricted profile checked for {len(containers)} container(s)"
              if not [p for p in problems if p.startswith(where)] else f"FAIL {where}")
    return problems, count


def spiffe(namespace, trust_domain, files):
    problems, count = [], 0
    want = re.compile(rf"^spiffe://{re.escape(trust_domain)}/ns/{re.escape(namespace)}/sa/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    for f, doc in load(files):
        if doc.get("kind") != "Certificate" or "client auth" not in doc.get("spec", {}).get("usages", []):
            continue
        count += 1
        uris = doc["spec"].get("uris", [])
        spiffe_uris = [u for u in uris if u.startswith("spiffe://")]
        if len(spiffe_uris) != 1 or not want.match(spiffe_uris[0]):
            problems.append(f"{f}: {name(doc)}: URI SANs {uris} are not one spiffe://{trust_domain}/ns/{namespace}/sa/<sa>")
        elif not doc["spec"]["secretName"].endswith("-client-" + spiffe_uris[0].rsplit("/", 1)[1]):
            problems.append(f"{f}: {name(doc)}: secretName does not name the service account")
        else:
            print(f"PASS {f}: {name(doc)} -> {spiffe_uris[0]}")
    return problems, count


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    mode = argv[1]
    if mode == "cert-manager":
        problems, count = cert_manager(argv[2:])
    elif mode == "restricted":
        problems, count = restricted(argv[2:])
    elif mode == "spiffe":
        problems, count = spiffe(argv[2], argv[3], argv[4:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(f"FAIL {p}")
    if count == 0:
        print(f"FAIL {mode}: nothing to check in {argv[2:]}")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
