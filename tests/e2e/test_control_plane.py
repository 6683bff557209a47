"""The operator, the chart and the manifests against a real Kubernetes control plane:
etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from their Go
modules (tools/controlplane, cached per machine: tests/support/controlplane/build.py),
kubectl and the Helm CLI built the same way (tools/helm).

What is real: the API server's admission (structural schema, defaulting, CEL rules,
RBAC, OwnerReferencesPermissionEnforcement), server-side apply, the scheduler, the
Deployment/StatefulSet/ReplicaSet controllers, the garbage collector, EndpointSlices,
kopf's watches, Helm and kubectl. What is not: the pods run no containers; a node
agent (a test double of a kubelet, tests/support/controlplane/node_agent.py) reports
them Running and Ready. The operator runs as its image starts it (`python -m
cloudgeo.operator`), authenticated with a token of the chart's ServiceAccount, so a
missing RBAC rule fails here.

Where the binaries cannot be built or the control plane cannot start, the tests fail
with the reason; they are not skipped.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import config

from cloudgeo.common.managed_processes import ManagedProcess, free_port, health_is, wait_until
from cloudgeo.operator.builders import ClusterView, build_all
from tests.support.controlplane.build import binaries_of, ensure_built
from tests.support.controlplane.crds import crd_file
from tests.support.controlplane.kube import NAMESPACE, Kube
from tests.support.controlplane.node_agent import NodeAgent
from tests.support.controlplane.server import ControlPlane
from tests.support.waiting import wait_for as wait_until_true

pytestmark = pytest.mark.control_plane

ROOT = Path(__file__).resolve().parents[2]
RELEASE, CLUSTER = "cg", "geo"
OPERATOR_SA = f"{RELEASE}-operator"
RESYNC_SECONDS = 2
CHART_VALUES = ["cluster.spec.wpsNodes.replicas=2"]
OWNED = "app.kubernetes.io/instance=geo,app.kubernetes.io/managed-by=cloudgeo-operator"
CHILD_KINDS = "deployments,statefulsets,services,configmaps,poddisruptionbudgets," \
              "networkpolicies,horizontalpodautoscalers,ingresses"


@pytest.fixture(scope="module")
def kube(tmp_path_factory) -> Iterator[Kube]:
    # The API server, etcd, kubectl and helm (the node agent stands in for a kubelet).
    binaries = ensure_built(binaries_of("controlplane", "helm"))  # BuildFailed: fails with why
    folder = tmp_path_factory.mktemp("controlplane")
    plane = ControlPlane(binaries, folder / "plane")
    agent = None
    try:
        plane.start()
        agent = NodeAgent(config.new_client_from_config(str(plane.admin_kubeconfig))).start()
        yield Kube(plane, binaries, folder)
    finally:
        if agent is not None:
            agent.stop()
        plane.stop()


def condition(body: dict | None, kind: str) -> dict:
    for found in ((body or {}).get("status") or {}).get("conditions") or []:
        if found["type"] == kind:
            return found
    return {}


# Each check asks the API server (kubectl): twice a second is enough.
wait_for = functools.partial(wait_until_true, interval=0.5)


class Operator:
    """`python -m cloudgeo.operator`, as the image starts it, as the chart's
    ServiceAccount (a token from the TokenRequest API)."""

    def __init__(self, kube: Kube, service_account: str = OPERATOR_SA) -> None:
        self.kube, self.service_account = kube, service_account
        self.process: ManagedProcess | None = None
        self.log = kube.folder / "operator.log"

    def start(self) -> Operator:
        token = self.kube.kubectl("-n", NAMESPACE, "create", "token", self.service_account,
                                  "--duration", "2h").stdout.strip()
        kubeconfig = self.kube.plane.write_kubeconfig(self.kube.folder / "operator.kubeconfig",
                                                      {"token": token})
        port = free_port()
        env = {**os.environ, "KUBECONFIG": str(kubeconfig),
               "CLOUDGEO_OPERATOR_STATUS_INTERVAL": str(RESYNC_SECONDS),
               "CLOUDGEO_OPERATOR_ABSENT_KIND_RECHECK": str(RESYNC_SECONDS),
               "CLOUDGEO_OPERATOR_LIVENESS_URL": f"http://127.0.0.1:{port}/healthz"}
        self.process = ManagedProcess("operator", [sys.executable, "-m", "cloudgeo.operator"],
                                      self.log, env=env).start()
        wait_until(lambda: health_is(f"http://127.0.0.1:{port}/healthz"), 60, "operator",
                   self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="module")
def installed(kube: Kube) -> Iterator[Operator]:
    values = [arg for value in CHART_VALUES for arg in ("--set", value)]
    kube.run("helm", "install", RELEASE, str(ROOT / "charts/cloudgeo"), "--namespace",
             NAMESPACE, "--create-namespace", *values)
    operator = Operator(kube).start()
    try:
        yield operator
    finally:
        operator.stop()


def ready(kube: Kube, timeout: float = 120) -> dict:
    return wait_for(lambda: (lambda b: b if condition(b, "Ready").get("status") == "True"
                             else None)(kube.get("gpc", CLUSTER)),
                    timeout, "GeoProcessingCluster Ready")


def test_the_chart_installs_and_the_cluster_becomes_ready(kube, installed):
    crd = kube.get("crd", "geoprocessingclusters.cloudgeo.io", namespace="default")
    assert condition(crd, "Established")["status"] == "True"
    body = ready(kube)
    assert body["status"]["readyNodes"] == 2
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"]
    assert condition(body, "Reconciled")["reason"] == "Applied"
    assert not body["metadata"].get("finalizers")  # a deletion never waits for us
    nodes = kube.get("deployment", f"{CLUSTER}-wps-node")
    assert nodes["spec"]["replicas"] == 2 and nodes["status"]["readyReplicas"] == 2
    # Defaults came from the API server's structural schema.
    assert body["spec"]["wpsNodes"]["qgisWorkers"] == 2
    events = kube.items("events", NAMESPACE, "--field-selector",
                        f"involvedObject.name={CLUSTER},involvedObject.kind="
                        "GeoProcessingCluster")
    assert {"Applied", "Ready"} <= {e["reason"] for e in events}, events


def owned(kube: Kube) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o
            for o in kube.items(CHILD_KINDS, NAMESPACE, "-l", OWNED)}


def test_drift_is_put_back(kube, installed):
    """`kubectl scale` of a child and a deleted Service and Deployment: the operator puts
    them back (on the child's own watch event, or the resync at the latest)."""
    ready(kube)
    kube.kubectl("-n", NAMESPACE, "scale", "deployment", f"{CLUSTER}-wps-node",
                 "--replicas=7")
    wait_for(lambda: kube.get("deployment", f"{CLUSTER}-wps-node")["spec"]["replicas"] == 2,
             30, "wps-node replicas back to 2")
    kube.kubectl("-n", NAMESPACE, "delete", "service", f"{CLUSTER}-gateway")
    kube.kubectl("-n", NAMESPACE, "delete", "deployment", f"{CLUSTER}-gateway")
    wait_for(lambda: kube.get("service", f"{CLUSTER}-gateway")
             and kube.get("deployment", f"{CLUSTER}-gateway"), 30, "gateway made again")
    body = ready(kube)
    assert body["status"]["readyNodes"] == 2


def test_a_refused_spec_is_named_in_the_status_and_the_rest_applied(kube, installed):
    """A memory request above its limit: the CRD allows it, the API server refuses the
    Deployment. The condition names it, Ready turns False, observedGeneration stays,
    a Warning Event says so, and what the same change asks of other objects lands."""
    before = ready(kube)
    kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=merge", "-p", json.dumps(
        {"spec": {"wpsNodes": {"resources": {"requests": {"memory": "8Gi"},
                                             "limits": {"memory": "4Gi"}}},
                  "fileService": {"replicas": 3}}}))

    def refused():
        body = kube.get("gpc", CLUSTER)
        return body if condition(body, "Reconciled").get("status") == "False" else None
    body = wait_for(refused, 30, "Reconciled=False")
    message = condition(body, "Reconciled")["message"]
    assert f"Deployment {CLUSTER}-wps-node" in message and "memory limit" in message, message
    assert condition(body, "Ready")["status"] == "False"
    assert body["status"]["observedGeneration"] == before["metadata"]["generation"]
    assert {c["observedGeneration"] for c in body["status"]["conditions"]} == {
        before["metadata"]["generation"]}
    assert kube.get("deployment", f"{CLUSTER}-file-service")["spec"]["replicas"] == 3
    warnings = kube.items("events", NAMESPACE, "--field-selector",
                          f"involvedObject.name={CLUSTER},type=Warning")
    assert "ApplyRefused" in {e["reason"] for e in warnings}

    kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/wpsNodes/resources/requests/memory",
          "value": "2Gi"}]))
    body = ready(kube)
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"]
    assert condition(body, "Reconciled")["status"] == "True"


def test_what_the_spec_no_longer_asks_for_is_pruned(kube, installed):
    ready(kube)
    patch = {"spec": {"gateway": {"ingress": {"enabled": True, "host": "wps.example.org"}}}}
    kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=merge", "-p",
                 json.dumps(patch))
    wait_for(lambda: kube.get("ingress", f"{CLUSTER}-gateway"), 30, "Ingress made")
    patch["spec"]["gateway"]["ingress"]["enabled"] = False
    kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=merge", "-p",
                 json.dumps(patch))
    wait_for(lambda: kube.get("ingress", f"{CLUSTER}-gateway") is None, 30, "Ingress pruned")
    # A rule of the CRD, checked by the API server itself (CEL).
    refused = kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=merge", "-p",
                           json.dumps({"spec": {"gateway": {"ingress": {"enabled": True,
                                                                        "host": ""}}}}),
                           check=False)
    assert refused.returncode != 0
    assert "ingress.host is required when the ingress is enabled" in refused.stderr


def test_rbac_gives_the_operator_no_read_access_to_secrets(kube, installed):
    who = f"system:serviceaccount:{NAMESPACE}:{OPERATOR_SA}"
    for verb in ("get", "list", "watch"):
        answer = kube.kubectl("auth", "can-i", verb, "secrets", "-A", "--as", who,
                              check=False).stdout.strip()
        assert answer == "no", (verb, answer)
    assert kube.kubectl("auth", "can-i", "create", "secrets", "-n", NAMESPACE, "--as",
                        who).stdout.strip() == "yes"
    # Everything so far ran as that ServiceAccount, and nothing was forbidden.
    assert "Forbidden" not in installed.output() and " 403" not in installed.output()


def test_an_operator_restart_writes_nothing(kube, installed):
    ready(kube)
    time.sleep(RESYNC_SECONDS * 2)  # settled: the last status write is behind us
    versions = {k: o["metadata"]["resourceVersion"] for k, o in owned(kube).items()}
    versions["gpc"] = kube.get("gpc", CLUSTER)["metadata"]["resourceVersion"]
    installed.stop()
    installed.start()
    time.sleep(RESYNC_SECONDS * 3)  # the resume and a few resyncs
    after = {k: o["metadata"]["resourceVersion"] for k, o in owned(kube).items()}
    after["gpc"] = kube.get("gpc", CLUSTER)["metadata"]["resourceVersion"]
    assert after == versions


def test_kubectl_explain_shows_the_descriptions(kube, installed):
    text = kube.kubectl("explain", "gpc.spec.wpsNodes").stdout
    assert "Number of WPS node pods." in text
    assert "autoscaling" in text and "FIELDS:" in text
    text = kube.kubectl("explain", "gpc.spec.wpsNodes.autoscaling.minReplicas").stdout
    assert "Fewest WPS node pods the autoscaler keeps." in text


def contained(wanted, found) -> bool:
    """Whether `found` has every field of `wanted` with its value (the server may add
    defaults, but dropped or changed nothing)."""
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(k in found and contained(v, found[k])
                                               for k, v in wanted.items())
    if isinstance(wanted, list):
        return (isinstance(found, list) and len(wanted) == len(found)
                and all(contained(w, f) for w, f in zip(wanted, found, strict=True)))
    return wanted == found


def install_crds(kube: Kube, *names: str) -> None:
    for name in names:
        kube.kubectl("apply", "--server-side", "-f", str(crd_file(name)))
        kube.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


QUEUE_SCALING = {"enabled": True, "minReplicas": 2, "maxReplicas": 9,
                 "queue": {"enabled": True, "targetQueueLength": 5}}


def test_queue_autoscaling_is_admitted_by_kedas_own_crds(kube, installed):
    """Before KEDA is installed the status names what is missing and the rest stays
    applied; with KEDA's CRDs (from its Go module) the ScaledObject and its
    TriggerAuthentication are admitted whole, and switched off they are pruned. KEDA's
    own controller does not run here: nothing scales, the objects are only admitted."""
    ready(kube)
    kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=merge", "-p", json.dumps(
        {"spec": {"wpsNodes": {"autoscaling": QUEUE_SCALING}}}))

    def refused():
        body = kube.get("gpc", CLUSTER)
        return body if condition(body, "Reconciled").get("status") == "False" else None
    message = condition(wait_for(refused, 30, "Reconciled=False"), "Reconciled")["message"]
    assert "ScaledObject geo-wps-node" in message and "not installed" in message, message
    assert kube.get("deployment", f"{CLUSTER}-wps-node")["status"]["readyReplicas"] == 2

    install_crds(kube, "scaledobjects.keda.sh", "triggerauthentications.keda.sh")
    body = ready(kube, timeout=60)
    built = {(o["kind"], o["metadata"]["name"]): o for o in build_all(ClusterView.of(body))}
    for kind, name in (("ScaledObject", f"{CLUSTER}-wps-node"),
                       ("TriggerAuthentication", f"{CLUSTER}-job-queue")):
        served = kube.get(kind, name)
        assert served is not None and contained(built[kind, name]["spec"], served["spec"]), \
            (built[kind, name]["spec"], served and served["spec"])
    assert kube.get("hpa", f"{CLUSTER}-wps-node") is None  # KEDA makes its own

    kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/wpsNodes/autoscaling/queue/enabled",
          "value": False}]))
    wait_for(lambda: kube.get("scaledobject", f"{CLUSTER}-wps-node") is None
             and kube.get("triggerauthentication", f"{CLUSTER}-job-queue") is None
             and kube.get("hpa", f"{CLUSTER}-wps-node"), 30, "KEDA's objects pruned, HPA made")
    kube.kubectl("-n", NAMESPACE, "patch", "gpc", CLUSTER, "--type=json", "-p", json.dumps(
        [{"op": "remove", "path": "/spec/wpsNodes/autoscaling"}]))
    wait_for(lambda: kube.get("hpa", f"{CLUSTER}-wps-node") is None, 30, "HPA pruned")
    ready(kube)


def test_the_service_monitor_is_admitted_and_selects_the_metrics_services(kube, installed):
    """The chart's ServiceMonitor against prometheus-operator's CRD, strictly validated;
    its selector finds the Services the operator made, with the ports it scrapes."""
    ready(kube)
    install_crds(kube, "servicemonitors.monitoring.coreos.com")
    rendered = kube.run("helm", "template", RELEASE, str(ROOT / "charts/cloudgeo"),
                        "--namespace", NAMESPACE, "--set", "serviceMonitor.enabled=true",
                        "--show-only", "templates/servicemonitor.yaml").stdout
    path = kube.folder / "servicemonitor.yaml"
    path.write_text(rendered)
    kube.kubectl("apply", "--server-side", "--validate=strict", "-f", str(path))
    monitor = kube.get("servicemonitor", f"{RELEASE}-cloudgeo")
    assert contained(yaml.safe_load(rendered)["spec"], monitor["spec"])
    selector = monitor["spec"]["selector"]
    labels = [f"{k}={v}" for k, v in selector["matchLabels"].items()]
    labels += [f"{e['key']} in ({','.join(e['values'])})"
               for e in selector["matchExpressions"]]
    services = kube.items("services", NAMESPACE, "-l", ",".join(labels))
    ports = {s["metadata"]["name"]: {p.get("name") for p in s["spec"]["ports"]}
             for s in services}
    assert set(ports) == {f"{CLUSTER}-{c}" for c in ("wps-node", "file-service", "gateway")}
    scraped = {e["port"] for e in monitor["spec"]["endpoints"]}
    assert all(names & scraped for names in ports.values()), ports
    kube.kubectl("delete", "-f", str(path))


def test_deletion_does_not_wait_for_the_operator(kube, installed):
    """With the operator stopped, deleting the resource completes and the garbage
    collector removes every child."""
    installed.stop()
    kube.kubectl("-n", NAMESPACE, "delete", "gpc", CLUSTER, "--timeout=60s")
    wait_for(lambda: not owned(kube), 60, "children garbage-collected")
    installed.start()


def test_kubectl_apply_k_manifests_reaches_the_same_state(kube, installed):
    """After the Helm release is gone, manifests/ (its own operator ServiceAccount and
    the sample resource) makes the same objects."""
    installed.stop()
    kube.run("helm", "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
    wait_for(lambda: not owned(kube), 60, "children garbage-collected")
    kube.kubectl("apply", "-k", str(ROOT / "manifests"))
    operator = Operator(kube, service_account="cloudgeo-operator").start()
    try:
        body = ready(kube, timeout=180)
        assert body["status"]["readyNodes"] == 3  # the sample's replicas
        kinds = {kind for kind, _ in owned(kube)}
        assert {"Deployment", "StatefulSet", "Service", "ConfigMap"} <= kinds
        assert ("StatefulSet", f"{CLUSTER}-consul") in owned(kube)
    finally:
        operator.stop()


def previous_crd() -> tuple[str, str]:
    """The CRD as the newest earlier commit that changed it had it: (commit, text)."""
    path = "charts/cloudgeo/crds/geoprocessingclusters.cloudgeo.io.yaml"
    current = (ROOT / path).read_text()
    commits = subprocess.run(["git", "-C", str(ROOT), "log", "--format=%H", "--", path],
                             capture_output=True, text=True, check=True).stdout.split()
    for commit in commits:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"],
                              capture_output=True, text=True, check=True).stdout
        if text != current:
            return commit, text
    return "HEAD", current


def test_the_previous_crd_upgraded_in_place_keeps_resources_valid(kube, tmp_path):
    commit, text = previous_crd()
    crd = "geoprocessingclusters.cloudgeo.io"
    kube.kubectl("delete", "gpc", "--all", "-A", "--timeout=60s")
    kube.kubectl("delete", "crd", crd, "--timeout=60s")
    old = tmp_path / "old-crd.yaml"
    old.write_text(text)
    kube.kubectl("apply", "--server-side", "-f", str(old))
    kube.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    kube.kubectl("apply", "-f", str(ROOT / "manifests/geoprocessingcluster.yaml"))
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f",
                 str(ROOT / "charts/cloudgeo/crds" / f"{crd}.yaml"))
    kube.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    # The existing resource reads, and is still admitted whole by the new schema.
    body = kube.get("gpc", CLUSTER)
    assert body is not None, f"resource made under {commit} is gone"
    kube.kubectl("-n", NAMESPACE, "label", "gpc", CLUSTER, "upgraded=yes")
    dry = kube.kubectl("apply", "--dry-run=server", "-f",
                       str(ROOT / "manifests/geoprocessingcluster.yaml"))
    assert "unchanged" in dry.stdout or "configured" in dry.stdout, dry.stdout
