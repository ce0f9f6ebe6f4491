"""Checks of the chart and the sidecar injector against a real kube-apiserver (started by helm/test-cluster.sh).

Every check prints PASS or FAIL; the exit status is 1 when any failed. Waits poll a condition with a deadline.
Only the standard library and PyYAML are used; the API is spoken directly (no kubectl).
"""
import base64
import copy
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml

URL = os.environ["KEYBROKER_CLUSTER_URL"]
TOKEN = os.environ["KEYBROKER_CLUSTER_TOKEN"]
HELM = os.environ["KEYBROKER_HELM"]
CHART = os.environ["KEYBROKER_CHART"]
# The sidecar's memory request as the chart's values give it, and a different one for the upgrade: read, not
# copied, so that resizing the chart cannot turn the upgrade/rollback check into a comparison of equal values.
with open(os.path.join(CHART, "values.yaml"), encoding="utf-8") as _values:
    DEFAULT_MEMORY = yaml.safe_load(_values)["sidecar"]["resources"]["requests"]["memory"]
UPGRADED_MEMORY = "200Mi" if DEFAULT_MEMORY != "200Mi" else "210Mi"
JAR = os.environ["KEYBROKER_JAR"]
WORK = os.environ["KEYBROKER_WORK"]
CRDS = os.environ["KEYBROKER_CRDS"]
INJECTOR_PORT = int(os.environ["KEYBROKER_INJECTOR_PORT"])
INJECTOR_TLS = os.environ["KEYBROKER_INJECTOR_TLS"]
SSL = ssl.create_default_context(cafile=os.environ["KEYBROKER_CLUSTER_CA"])

NS = "payments"          # the namespace the chart is installed in
OTHER_NS = "elsewhere"   # a namespace without the chart
RELEASE = "keybroker"    # fullname "keybroker"
TEMPLATE_FILE = os.path.join(WORK, "injection.json")

passed, failed = [], []


def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + str(detail)[:800]), flush=True)
    return ok


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


def api(method, path, body=None, query=""):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path + query, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=SSL, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        raise ApiError(err.code, err.read().decode(errors="replace")) from None


def readyz():
    req = urllib.request.Request(URL + "/readyz", headers={"Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, context=SSL, timeout=5) as resp:
            return resp.read().strip() == b"ok"
    except urllib.error.HTTPError as err:
        raise ApiError(err.code, err.read().decode(errors="replace")) from None


def wait_for(what, probe, timeout=60.0, interval=0.25):
    """Polls probe() until it returns a truthy value; raises with the last value or error after the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = probe()
            if last:
                return last
        except (ApiError, OSError) as err:
            last = err
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s (last: {last})")
        time.sleep(interval)  # poll interval of a bounded wait


def helm(*args):
    return subprocess.run([HELM, *args], capture_output=True, text=True, timeout=300)


# ---- discovery: kind -> resource path ---------------------------------------------------------------------
_resources = {}


def resource_path(obj, namespace):
    api_version, kind = obj["apiVersion"], obj["kind"]
    key = (api_version, kind)
    if key not in _resources:
        base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        for r in api("GET", base)["resources"]:
            if "/" not in r["name"]:
                _resources[(api_version, r["kind"])] = (base, r["name"], r["namespaced"])
    base, plural, namespaced = _resources[key]
    return f"{base}/namespaces/{namespace}/{plural}" if namespaced else f"{base}/{plural}"


def render(*args):
    out = helm("template", RELEASE, CHART, "--namespace", NS, *args)
    if out.returncode != 0:
        raise RuntimeError("helm template failed: " + out.stderr)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


# ---- the injector: the real jar on loopback; its template file is the ConfigMap, copied as the kubelet would --
def sync_template(namespace=NS):
    cm = api("GET", f"/api/v1/namespaces/{namespace}/configmaps/{RELEASE}-injector")
    content = cm["data"]["injection.json"]
    tmp = TEMPLATE_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write(content)
    os.replace(tmp, TEMPLATE_FILE)   # atomic, like the kubelet's ..data swap
    return json.loads(content)


def start_injector():
    log = open(os.path.join(WORK, "injector.log"), "w")
    proc = subprocess.Popen(["java", "-XX:TieredStopAtLevel=1", "-jar", JAR, "injector",
                             "--template=" + TEMPLATE_FILE, "--tls-dir=" + INJECTOR_TLS, "--address=127.0.0.1",
                             f"--port={INJECTOR_PORT}", "--reload-interval=PT0.2S"],
                            stdout=log, stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context(cafile=os.path.join(INJECTOR_TLS, "ca.crt"))

    def healthy():
        if proc.poll() is not None:
            raise RuntimeError("the injector exited with status %s (log: %s)" % (proc.returncode, log.name))
        with urllib.request.urlopen(f"https://127.0.0.1:{INJECTOR_PORT}/healthz", context=ctx, timeout=2) as r:
            return r.status == 200
    wait_for("injector healthy", healthy, timeout=90)
    return proc


# ---- objects ----------------------------------------------------------------------------------------------
APP = {
    "name": "app", "image": "registry.example.com/checkout:1.4.2",
    "ports": [{"containerPort": 8080, "name": "http"}],
    "env": [{"name": "SPRING_PROFILES_ACTIVE", "value": "prod"}],
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
}


def pod(name, annotations=None, namespace=NS, service_account="checkout"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name},
                         "annotations": dict(annotations or {})},
            "spec": {"serviceAccountName": service_account, "automountServiceAccountToken": False,
                     "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [copy.deepcopy(APP)]}}


def create_pod(obj, dry_run=False):
    ns = obj["metadata"]["namespace"]
    return api("POST", f"/api/v1/namespaces/{ns}/pods", obj, "?dryRun=All" if dry_run else "")


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def sidecar_of(p):
    inits = p["spec"].get("initContainers", [])
    return inits[0] if inits and inits[0]["name"] == "keybroker" else None


def sidecar_memory_request(p):
    sidecar = sidecar_of(p)
    return sidecar and sidecar["resources"]["requests"]["memory"]


def expect_injected(label, p, secret="keybroker-client-checkout", memory=DEFAULT_MEMORY, own_env=True):
    sidecar = sidecar_of(p)
    if not check(f"{label}: native sidecar injected as the first init container", sidecar is not None,
                 json.dumps(p["spec"].get("initContainers"))):
        return
    check(f"{label}: sidecar has restartPolicy Always", sidecar.get("restartPolicy") == "Always")
    check(f"{label}: sidecar resources from values", sidecar["resources"]["requests"]["memory"] == memory,
          sidecar["resources"])
    # The workload presents the certificate of the Secret it mounts: the sidecar warms only that ID's grants.
    own_id = f"spiffe://cluster.local/ns/{p['metadata']['namespace']}/sa/{secret.removeprefix(RELEASE + '-client-')}"
    check(f"{label}: sidecar warms only the grants of {own_id}", env_of(sidecar).get(
        "KEYBROKER_CACHE_WARMIDENTITIES") == own_id, sidecar.get("env"))
    volumes = {v["name"]: v for v in p["spec"]["volumes"]}
    wanted = {"keybroker-config", "keybroker-policy", "keybroker-server-tls", "keybroker-audit",
              "keybroker-client-tls"}
    check(f"{label}: certificate, trust-bundle and policy volumes", wanted <= set(volumes), sorted(volumes))
    check(f"{label}: workload certificate from the cert-manager Secret {secret}",
          volumes.get("keybroker-client-tls", {}).get("secret", {}).get("secretName") == secret,
          volumes.get("keybroker-client-tls"))
    app = p["spec"]["containers"][0]
    env = env_of(app)
    check(f"{label}: KEYBROKER_URL/CA/CERT/KEY in the app container",
          env.get("KEYBROKER_URL") == "https://127.0.0.1:8443"
          and env.get("KEYBROKER_CA_FILE") == "/var/run/keybroker/client/ca.crt"
          and env.get("KEYBROKER_CERT_FILE") == "/var/run/keybroker/client/tls.crt"
          and env.get("KEYBROKER_KEY_FILE") == "/var/run/keybroker/client/tls.key"
          and (not own_env or env.get("SPRING_PROFILES_ACTIVE") == "prod"), env)
    check(f"{label}: labelled for the chart's NetworkPolicy",
          p["metadata"]["labels"].get("keybroker.io/sidecar") == "true")


def expect_untouched(label, p):
    spec = p["spec"]
    check(label, "initContainers" not in spec and not any(k.startswith("KEYBROKER_") for k in env_of(
        spec["containers"][0])) and "keybroker.io/status" not in p["metadata"].get("annotations", {}),
        json.dumps(spec)[:400])


def main():
    wait_for("kube-apiserver /readyz", readyz, timeout=120)
    version = api("GET", "/version")
    check("kube-apiserver is ready on kine/SQLite", version.get("gitVersion") == "v1.34.4", version)

    # CRDs first: the chart's cert-manager objects (and the optional PrometheusRule) need them.
    for name in sorted(os.listdir(CRDS)):
        if name.endswith(".yaml"):
            with open(os.path.join(CRDS, name)) as f:
                crd = yaml.safe_load(f)
            api("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            wait_for("CRD " + crd["metadata"]["name"] + " established", lambda n=crd["metadata"]["name"]: any(
                c["type"] == "Established" and c["status"] == "True" for c in api(
                    "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + n)
                .get("status", {}).get("conditions") or []))
    for plural, group in (("certificates", "cert-manager.io"), ("issuers", "cert-manager.io"),
                          ("prometheusrules", "monitoring.coreos.com")):
        wait_for(f"{plural}.{group} served", lambda p=plural, g=group: api("GET", f"/apis/{g}/v1/{p}"))

    for ns, labels in ((NS, {"pod-security.kubernetes.io/enforce": "restricted"}), (OTHER_NS, {})):
        api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": ns, "labels": labels}})
        # No controller manager runs, so nothing creates service accounts for us.
        for sa in ("default", "checkout"):
            api("POST", f"/api/v1/namespaces/{ns}/serviceaccounts",
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}})

    # ---- server-side dry-run of every rendered manifest (the in-cluster injector, monitoring, example on) ----
    full = ["-f", os.path.join(CHART, "ci", "full-values.yaml"), "--set", "injector.enabled=true",
            "--set", "monitoring.prometheusRule.enabled=true", "--set", "monitoring.grafanaDashboard.enabled=true",
            "--set", "example.enabled=true"]
    for label, args in (("defaults", []), ("everything on", full),
                        ("csi-driver-spiffe", ["--set", "certManager.enabled=true", "--set", "injector.enabled=true",
                                               "--set", "injector.identitySource=csi-driver-spiffe"])):
        problems, kinds = [], []
        for obj in render(*args):
            kinds.append(obj["kind"])
            try:
                api("POST", resource_path(obj, NS), obj, "?dryRun=All&fieldValidation=Strict")
            except ApiError as err:
                problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {err}")
        check(f"server-side dry-run ({label}): {len(kinds)} object(s) accepted, {', '.join(sorted(set(kinds)))}",
              not problems, problems)

    # ---- helm install with the injector on loopback -------------------------------------------------------
    with open(os.path.join(INJECTOR_TLS, "ca.crt"), "rb") as f:
        ca_bundle = base64.b64encode(f.read()).decode()
    base_values = ["--set", "certManager.enabled=true", "--set", "certManager.workloads[0].serviceAccount=checkout",
                   "--set", "config.backend=file", "--set", "config.file.secretName=keybroker-dev-secrets",
                   "--set", "injector.enabled=true",
                   "--set", f"injector.webhook.url=https://127.0.0.1:{INJECTOR_PORT}/mutate",
                   "--set", f"injector.webhook.caBundle={ca_bundle}"]
    out = helm("install", RELEASE, CHART, "--namespace", NS, *base_values)
    check("helm install succeeds", out.returncode == 0, out.stderr)
    webhook_name = f"{NS}-{RELEASE}-injector"
    try:
        config = api("GET", f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{webhook_name}")
        hook = config["webhooks"][0]
        check("helm install creates the MutatingWebhookConfiguration " + webhook_name,
              hook["clientConfig"]["url"].endswith(f":{INJECTOR_PORT}/mutate")
              and hook["failurePolicy"] == "Fail"
              and hook["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": NS}
              and hook["matchConditions"][0]["name"] == "annotated-for-injection", hook)
    except ApiError as err:
        check("helm install creates the MutatingWebhookConfiguration", False, err)

    sync_template()
    injector = start_injector()
    try:
        run_injection_checks(base_values)
        run_quickstart(ca_bundle)
    finally:
        injector.terminate()
        try:
            injector.wait(timeout=15)
        except subprocess.TimeoutExpired:
            injector.kill()
            injector.wait()

    out = helm("uninstall", RELEASE, "--namespace", NS)
    gone = out.returncode == 0
    try:
        api("GET", f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{webhook_name}")
        gone = False
    except ApiError as err:
        gone = gone and err.status == 404
    check("helm uninstall removes the webhook configuration", gone, out.stderr)


def run_injection_checks(base_values):
    # A Deployment whose template is annotated: its pod is created the way the ReplicaSet controller creates it
    # (no controller manager runs): from the stored, defaulted template, with an owner reference.
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "checkout", "namespace": NS},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "checkout"}},
                           "template": pod("checkout", {"keybroker.io/inject": "true"})}}
    deployment["spec"]["template"] = {"metadata": {"labels": {"app": "checkout"},
                                                   "annotations": {"keybroker.io/inject": "true"}},
                                      "spec": deployment["spec"]["template"]["spec"]}
    stored = api("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", deployment)
    template = stored["spec"]["template"]
    check("the Deployment's template is stored without a sidecar (pods are mutated, not templates)",
          "initContainers" not in template["spec"])
    replica_set = api("POST", f"/apis/apps/v1/namespaces/{NS}/replicasets", {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "checkout-6d5f7b", "namespace": NS,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout",
                                          "uid": stored["metadata"]["uid"], "controller": True}]},
        "spec": {"replicas": 1, "selector": stored["spec"]["selector"], "template": template}})
    rs_pod = {"apiVersion": "v1", "kind": "Pod",
              "metadata": dict(copy.deepcopy(template["metadata"]), generateName="checkout-6d5f7b-", namespace=NS,
                               ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                 "name": "checkout-6d5f7b", "uid": replica_set["metadata"]["uid"],
                                                 "controller": True, "blockOwnerDeletion": True}]),
              "spec": copy.deepcopy(template["spec"])}
    try:
        created = create_pod(rs_pod)
        expect_injected("Deployment's pod (restricted Pod Security enforced)", created)
        again = copy.deepcopy(created)
        again["metadata"] = {"generateName": "checkout-6d5f7b-", "namespace": NS,
                             "annotations": created["metadata"]["annotations"],
                             "labels": created["metadata"]["labels"]}
        again["spec"].pop("nodeName", None)
        twice = create_pod(again)
        check("injecting an injected pod again changes nothing",
              [c["name"] for c in twice["spec"]["initContainers"]] == ["keybroker"]
              and twice["spec"]["volumes"] == created["spec"]["volumes"]
              and twice["spec"]["containers"] == created["spec"]["containers"])
    except ApiError as err:
        check("Deployment's pod is admitted and injected", False, err)

    expect_untouched("a pod without the annotation is untouched", create_pod(pod("plain")))
    expect_untouched("an annotated pod in a namespace without the chart is untouched",
                     create_pod(pod("outside", {"keybroker.io/inject": "true"}, namespace=OTHER_NS)))
    expect_injected("identity override", create_pod(pod("canary", {"keybroker.io/inject": "true",
                                                                   "keybroker.io/identity": "checkout-canary"})),
                    secret="keybroker-client-checkout-canary")
    try:
        create_pod(pod("bad", {"keybroker.io/inject": "true", "keybroker.io/sidecar-memory-limit": "lots"}))
        check("a bad override refuses the pod with a message saying what to fix", False, "the pod was admitted")
    except ApiError as err:
        check("a bad override refuses the pod with a message saying what to fix",
              err.status == 400 and "'lots' is not a resource quantity" in err.body and "256Mi" in err.body, err)

    # ---- upgrade to changed values, then roll back ----------------------------------------------------------
    out = helm("upgrade", RELEASE, CHART, "--namespace", NS, *base_values,
               "--set", f"sidecar.resources.requests.memory={UPGRADED_MEMORY}")
    check("helm upgrade to changed values succeeds", out.returncode == 0, out.stderr)
    sync_template()
    probe = pod("probe", {"keybroker.io/inject": "true"})
    try:
        wait_for("injection by the upgraded template",
                 lambda: sidecar_memory_request(create_pod(probe, dry_run=True)) == UPGRADED_MEMORY, timeout=30)
        check(f"a pod admitted after the upgrade follows the new values (sidecar memory request {UPGRADED_MEMORY})",
              True)
    except TimeoutError as err:
        check("a pod admitted after the upgrade follows the new values", False, err)
    out = helm("rollback", RELEASE, "1", "--namespace", NS)
    check("helm rollback to revision 1 succeeds", out.returncode == 0, out.stderr)
    sync_template()
    try:
        wait_for("injection by the rolled-back template",
                 lambda: sidecar_memory_request(create_pod(probe, dry_run=True)) == DEFAULT_MEMORY, timeout=30)
        expect_injected("pod admitted after the rollback (old rules)", create_pod(probe))
    except TimeoutError as err:
        check("a pod admitted after the rollback follows the old rules", False, err)
    history = helm("history", RELEASE, "--namespace", NS, "-o", "json")
    revisions = [r["revision"] for r in json.loads(history.stdout or "[]")]
    check("helm history shows install, upgrade and rollback", revisions == [1, 2, 3], history.stdout)


def run_quickstart(ca_bundle):
    """docs/install.md's shortest path, in namespace demo: its Secret, its values file, its pod."""
    quick = os.path.join(CHART, "examples", "quickstart")
    api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    with open(os.path.join(quick, "secrets.yaml")) as f:
        api("POST", "/api/v1/namespaces/demo/secrets", yaml.safe_load(f))
    out = helm("install", RELEASE, CHART, "--namespace", "demo", "-f", os.path.join(quick, "values.yaml"),
               "--set", f"injector.webhook.url=https://127.0.0.1:{INJECTOR_PORT}/mutate",
               "--set", f"injector.webhook.caBundle={ca_bundle}")
    check("quick start: helm install with helm/examples/quickstart/values.yaml succeeds", out.returncode == 0,
          out.stderr)
    sync_template("demo")   # the one injector on loopback now serves the demo release's template
    with open(os.path.join(quick, "pod.yaml")) as f:
        service_account, demo_pod = list(yaml.safe_load_all(f))
    api("POST", "/api/v1/namespaces/demo/serviceaccounts", service_account)
    demo_pod["metadata"]["namespace"] = "demo"
    try:
        # The payments release's template names the same client Secret for service account demo; the file
        # backend's Secret tells the demo template apart.
        def uses_demo_template(p):
            return p if any(v.get("secret", {}).get("secretName") == "keybroker-demo-secrets"
                            for v in p["spec"].get("volumes", [])) else None
        wait_for("injection by the demo release's template",
                 lambda: uses_demo_template(create_pod(demo_pod, dry_run=True)), timeout=30)
        created = create_pod(demo_pod)
        expect_injected("quick start pod (helm/examples/quickstart/pod.yaml)", created,
                        secret="keybroker-client-demo", own_env=False)
        check("quick start: the sidecar reads the quick-start Secret", uses_demo_template(created) is not None,
              created["spec"]["volumes"])
    except (ApiError, TimeoutError) as err:
        check("quick start pod is injected", False, err)


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # a setup step failed: report it as a failure, not a traceback only
        import traceback
        traceback.print_exc()
        check("cluster test ran to the end", False, err)
    print(f"{len(passed)} passed, {len(failed)} failed")
    if failed:
        print("failed: " + "; ".join(failed))
    sys.exit(1 if failed else 0)
