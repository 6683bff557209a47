"""CloudGeo's own images as pods on a real kubelet: `helm install` of the chart, the
operator running as a pod of its image with its ServiceAccount's own token, a
GeoProcessingCluster made Ready by its pods' real readiness probes, then the seed's
walkthrough through the gateway Service.

The node is real (tests/support/controlplane/node.py): containerd and runc run the
containers, the CNI bridge wires the pods, kube-proxy programs the Services, CoreDNS
answers the cluster's names, all in a network namespace of the fixture's own. The images
are those the session built (tests/support/images.py), loaded into the node's runtime:
no registry is reached. Redis runs from a test-only image of Debian's redis-server (the
chart's default is the upstream image, which cannot be pulled here); object storage is
the product's SeaweedFS mode (MinIO's server is AGPL-3.0: we neither build nor run it).

Where a piece cannot run on this machine the test fails with the reason; it is never
skipped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import redis
import requests
import yaml

from cloudgeo.common.managed_processes import free_port
from tests.support.controlplane.build import CLUSTER_BINARIES, ensure_built
from tests.support.controlplane.kube import NAMESPACE, Kube
from tests.support.controlplane.node import BUSYBOX_IMAGE, NODE_IP, RealNode
from tests.support.controlplane.server import ControlPlane
from tests.support.images import reference
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
RELEASE, CLUSTER = "cg", "geo"
INGRESS_NAMESPACE = "ingress-traefik"
IMAGES = ["wps-node", "file-service", "gateway", "seaweedfs", "operator", "test-redis"]
# The first test pays for the session's image builds (about 6 minutes here) if the
# container tests did not, then for the node, the import and the cluster's start.
pytestmark = [pytest.mark.timeout(3000), pytest.mark.control_plane]


def chart_values(public_url: str) -> dict:
    """What a user of a small one-node cluster without a registry would set."""
    return {
        "operator": {"statusIntervalSeconds": 2},
        "cluster": {"spec": {
            "wpsNodes": {"replicas": 2, "qgisWorkers": 1,
                         "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}}},
            "fileService": {"resources": {"requests": {"cpu": "50m"}}},
            "gateway": {"publicURL": public_url,
                        "resources": {"requests": {"cpu": "50m"}}},
            "redis": {"image": reference("test-redis"), "persistence": {"enabled": False}},
            "objectStorage": {"type": "seaweedfs",
                              "seaweedfs": {"persistence": {"enabled": False}}},
            "registry": {"type": "redis"},
        }},
    }


class PodsCluster:
    def __init__(self, kube: Kube, node: RealNode, port: int) -> None:
        self.kube, self.node, self.port = kube, node, port
        self.gateway = f"http://127.0.0.1:{port}"

    def gpc(self) -> dict | None:
        return self.kube.get("geoprocessingcluster", CLUSTER)

    def condition(self, kind: str) -> dict:
        for found in ((self.gpc() or {}).get("status") or {}).get("conditions") or []:
            if found["type"] == kind:
                return found
        return {}

    def rolled_out(self, timeout: float = 600) -> None:
        """Once the operator has applied the GeoProcessingCluster's last change (its
        observedGeneration) and every Deployment has rolled it out."""
        def applied() -> bool:
            gpc = self.gpc() or {}
            status = gpc.get("status") or {}
            return (status.get("observedGeneration") == gpc["metadata"]["generation"]
                    and self.condition("Ready").get("status") == "True")

        wait_for(applied, timeout, "the operator to apply the change", interval=1)
        for deployment in self.kube.items("deployments", NAMESPACE):
            self.kube.kubectl("-n", NAMESPACE, "rollout", "status", f"--timeout={timeout}s",
                              f"deployment/{deployment['metadata']['name']}")
        # A rollout is complete before its old pods are gone: a node draining on its way
        # out still answers what the gateway sent it, with the old settings.
        wait_for(lambda: not [p for p in self.kube.items("pods", NAMESPACE)
                              if p["metadata"].get("deletionTimestamp")], timeout,
                 "the old pods to be gone", interval=1)

    def pods(self, component: str) -> list[dict]:
        return self.kube.items("pods", NAMESPACE, "-l",
                               f"app.kubernetes.io/component={component}")

    def diagnosis(self) -> str:
        pods = self.kube.kubectl("-n", NAMESPACE, "get", "pods", "-o", "wide",
                                 check=False).stdout
        events = self.kube.kubectl("-n", NAMESPACE, "get", "events", "--sort-by",
                                   ".lastTimestamp", check=False).stdout[-4000:]
        return f"{pods}\n{json.dumps(self.gpc(), indent=1)[-3000:]}\n{events}"

    def node_ids(self, tries: int = 12) -> set[str]:
        url = f"{self.gateway}/api/wps/processes/native:buffer"
        return {requests.get(url, timeout=10).headers.get("X-CloudGeo-Node")
                for _ in range(tries)}


@pytest.fixture(scope="module")
def real_node(tmp_path_factory) -> Iterator[tuple[Kube, RealNode]]:
    # Consul's binary, built last, is waited for by its own test only.
    binaries = ensure_built(CLUSTER_BINARIES)  # BuildFailed: the test fails with the reason
    folder = tmp_path_factory.mktemp("pods")
    plane = ControlPlane(binaries, folder / "plane", serving_ips=(NODE_IP,))
    node = RealNode(binaries, plane, folder / "node")
    try:
        plane.start()
        started = time.monotonic()
        node.start()
        print(f"the real node Ready in {time.monotonic() - started:.0f} s")
        yield Kube(plane, binaries, folder), node
    finally:
        node.stop()
        plane.stop()


def install_chart(kube: Kube, node: RealNode, values: dict, port: int,
                  what: str = "the GeoProcessingCluster") -> PodsCluster:
    """`helm install` of the chart with these values, once its GeoProcessingCluster is
    Ready by its pods' probes, with the gateway Service forwarded to 127.0.0.1:port."""
    path = kube.folder / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    started = time.monotonic()
    kube.run("helm", "install", RELEASE, str(ROOT / "charts/cloudgeo"), "--namespace",
             NAMESPACE, "--create-namespace", "-f", str(path))
    cluster = PodsCluster(kube, node, port)
    try:
        wait_for(lambda: cluster.condition("Ready").get("status") == "True", 600,
                 f"{what} to become Ready", interval=2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.diagnosis()}") from None
    print(f"helm install to Ready in {time.monotonic() - started:.0f} s")
    service = kube.get("service", f"{CLUSTER}-gateway")
    node.forward_port(service["spec"]["clusterIP"], 80, local=port)
    wait_for(lambda: _answers(f"{cluster.gateway}/api/wps/processes"), 180,
             f"the gateway Service of {what} to answer", interval=1)
    return cluster


def walk_through(url: str, folder: Path) -> str:
    """The walkthrough against this URL; what it printed, once it completed."""
    from cloudgeo.localcluster.walkthrough import run as walkthrough

    printed = io.StringIO()
    with redirect_stdout(printed):
        walkthrough(url, folder)
    text = printed.getvalue()
    assert "walkthrough complete" in text, text[-3000:]
    return text


@pytest.fixture(scope="module")
def pods_cluster(real_node, built_images) -> Iterator[PodsCluster]:
    kube, node = real_node
    started = time.monotonic()
    archive = built_images.save(IMAGES, kube.folder / "images.tar")
    node.import_image(archive)
    archive.unlink()
    print(f"images saved and imported into the node's containerd in "
          f"{time.monotonic() - started:.0f} s")
    port = free_port()
    yield install_chart(kube, node, chart_values(f"http://127.0.0.1:{port}"), port)
    kube.run("helm", "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait",
             "--timeout", "300s", check=False)  # the last test uninstalls it already


def _answers(url: str) -> bool:
    return _status(requests.get, url) == 200


def _status(method, url: str, timeout: float = 10, **kwargs) -> int | None:
    """The HTTP status of a request, None when the connection failed (a gateway pod
    being replaced drops its connections)."""
    answer = _answer(method, url, timeout, **kwargs)
    return None if answer is None else answer.status_code


def _answer(method, url: str, timeout: float = 10, **kwargs) -> requests.Response | None:
    try:
        return method(url, timeout=timeout, **kwargs)
    except requests.RequestException:
        return None


def busybox_pod(name: str, script: str, labels: dict | None = None,
                restart: str = "Always") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
            "spec": {"restartPolicy": restart, "automountServiceAccountToken": False,
                     "containers": [{"name": name, "image": BUSYBOX_IMAGE,
                                     "imagePullPolicy": "Never", "args": ["sh", "-c", script],
                                     "volumeMounts": [{"name": "www", "mountPath": "/www"}]}],
                     "volumes": [{"name": "www", "emptyDir": {}}]}}


def test_the_node_runs_pods_that_reach_services_by_name_and_the_api_server(real_node):
    """The node itself, before any CloudGeo image: containers run, the CNI wires them,
    CoreDNS answers a Service's name, kube-proxy forwards its ClusterIP, and the API
    server is reachable at the `kubernetes` Service."""
    kube, node = real_node
    web = busybox_pod("web", "echo hello-from-web > /www/index.html && "
                             "exec httpd -f -p 8080 -h /www", {"app": "web"})
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "namespace": "default"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80,
                                                                "targetPort": 8080}]}}
    # Debian's static busybox resolves names only with nslookup (its wget crashes
    # without NSS libraries): HTTP is spoken with nc.
    request = "(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 2) | nc -w 5"
    client = busybox_pod("client", "set -e; ip=$(nslookup web.default.svc.cluster.local | "
                                   "awk '/^Address: /{print $2}' | tail -1); echo web=$ip; "
                                   f"{request} $ip 80; {request} 10.96.0.1 443",
                         restart="Never")
    for manifest in (web, service):
        kube.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_for(lambda: (kube.get("pod", "web", "default") or {}).get("status", {}).get(
        "podIP"), 120, "the web pod's IP", interval=1)
    kube.kubectl("apply", "-f", "-", input=json.dumps(client))
    phase = wait_for(lambda: (kube.get("pod", "client", "default") or {}).get(
        "status", {}).get("phase") in ("Succeeded", "Failed") and kube.get(
        "pod", "client", "default")["status"]["phase"], 120, "the client pod to end",
        interval=1)
    log = node.container_log("default", "client", "client")
    assert phase == "Succeeded", log
    assert "hello-from-web" in log  # the Service's ClusterIP, found by its DNS name
    assert "Client sent an HTTP request to an HTTPS server" in log  # the API server
    kube.kubectl("delete", "pod,service", "web", "client", "-n", "default", "--wait=false",
                 check=False)


def test_the_operator_runs_as_a_pod_of_its_image(pods_cluster):
    (operator,) = pods_cluster.pods("operator")
    assert operator["status"]["phase"] == "Running"
    (container,) = operator["spec"]["containers"]
    assert container["image"].startswith("cloudgeo/operator:")
    assert operator["spec"]["serviceAccountName"] == f"{RELEASE}-operator"


def test_every_pod_is_ready_by_its_own_probes(pods_cluster):
    for component in ("wps-node", "file-service", "gateway", "redis", "seaweedfs"):
        found = pods_cluster.pods(component)
        assert found, component
        for pod in found:
            statuses = pod["status"]["containerStatuses"]
            assert all(s["ready"] and "running" in s["state"] for s in statuses), \
                (component, statuses)
            # A real kubelet ran the container: it has an ID in the runtime.
            assert all(s["containerID"].startswith("containerd://") for s in statuses)


def test_walkthrough_through_the_gateway_service(pods_cluster, tmp_path):
    started = time.monotonic()
    text = walk_through(pods_cluster.gateway, tmp_path / "walkthrough")
    print(f"walkthrough through the Service in {time.monotonic() - started:.1f} s")
    assert "10 buffered features" in text
    assert pods_cluster.node_ids() == {p["metadata"]["name"]
                                       for p in pods_cluster.pods("wps-node")}


def test_owslib_wps_and_ogc_api_through_the_gateway_service(pods_cluster, tmp_path):
    """OWSLib, unmodified: WPS 1.0.0 GetCapabilities and an async Execute polled to its
    end, then an OGC API – Processes execution; every output downloaded and read."""
    from osgeo import ogr
    from owslib.ogcapi.processes import Processes
    from owslib.wps import ASYNC, ComplexDataInput, WebProcessingService

    from cloudgeo.client import download, upload_file
    from cloudgeo.samples import point_shapefile_zip

    gateway = pods_cluster.gateway
    uploaded = upload_file(gateway, point_shapefile_zip(tmp_path, count=7))
    link = f"{gateway}/api/file/retrieve/{uploaded['name']}.{uploaded['format']}"
    wps = WebProcessingService(f"{gateway}/api/wps/wps", timeout=120)
    assert "native:buffer" in {p.identifier for p in wps.processes}
    execution = wps.execute("native:buffer", [
        ("INPUT", ComplexDataInput(link, mimeType="application/zip")), ("DISTANCE", "10")],
        output=[("OUTPUT", True)], mode=ASYNC)
    deadline = time.monotonic() + 120
    while not execution.isComplete() and time.monotonic() < deadline:
        execution.checkStatus(sleepSecs=0.5)
    assert execution.isSucceeded(), execution.response
    buffered = download(execution.processOutputs[0].reference, tmp_path)
    assert ogr.Open(str(buffered)).GetLayer(0).GetFeatureCount() == 7
    result = Processes(f"{gateway}/api/wps/ogcapi/").execute(
        "native:centroids", {"INPUT": {"href": link}})
    centroids = download(result["OUTPUT"]["href"], tmp_path)
    assert ogr.Open(str(centroids)).GetLayer(0).GetFeatureCount() == 7


def container_pid(cluster: PodsCluster, pod: dict) -> int:
    """The host PID of a pod's first container's process (containers share our kernel)."""
    return container_pids(cluster, [pod])[pod["metadata"]["name"]]


def container_pids(cluster: PodsCluster, pods: list[dict]) -> dict[str, int]:
    tasks = dict(line.split()[:2] for line in
                 cluster.node.ctr("tasks", "list").stdout.splitlines()[1:])
    pids = {}
    for pod in pods:
        task = pod["status"]["containerStatuses"][0]["containerID"].removeprefix(
            "containerd://")
        assert task in tasks, f"no task {task} for {pod['metadata']['name']}"
        pids[pod["metadata"]["name"]] = int(tasks[task])
    return pids


COMPONENT = "app.kubernetes.io/component"


def policed_walkthrough(cluster: PodsCluster, folder: Path) -> set[tuple[str, str, int]]:
    """The walkthrough, while every TCP connection a CloudGeo pod accepts is recorded;
    each one from another pod must be allowed by the NetworkPolicies as an enforcing CNI
    judges them (the bridge plugin here enforces nothing). Returns what was seen, as
    (client component, server component, port)."""
    from tests.support import networkpolicy, podtraffic

    kube = cluster.kube
    running = [p for p in kube.items("pods", NAMESPACE)
               if p["status"].get("phase") == "Running" and
               not p["metadata"].get("deletionTimestamp")]
    seen = podtraffic.observe(container_pids(cluster, running),
                              lambda: walk_through(cluster.gateway, folder))
    namespaces = {n["metadata"]["name"]: n["metadata"].get("labels") or {}
                  for n in kube.items("namespaces")}
    by_ip = {pod.ip: pod for pod in (
        networkpolicy.Pod.from_object(p, namespaces[p["metadata"]["namespace"]])
        for p in kube.items("pods", NAMESPACE, "--all-namespaces")
        if p["status"].get("podIP") and not p["spec"].get("hostNetwork"))}
    by_name = {pod.name: pod for pod in by_ip.values()}
    policies = kube.items("networkpolicies", NAMESPACE)
    edges, refused, outside = set(), [], set()
    for connection in seen:
        server, client = by_name[connection.server], by_ip.get(connection.client_ip)
        if client is None:  # the node itself: kubelet probes, our port forwards, Prometheus
            outside.add((connection.client_ip, connection.server, connection.port))
            continue
        if client.name == server.name:
            continue
        edges.add((client.labels.get(COMPONENT, client.name),
                   server.labels.get(COMPONENT, server.name), connection.port))
        why = networkpolicy.refusal(policies, client, server, connection.port)
        if why:
            refused.append(why)
    print("pod-to-pod connections seen:", sorted(edges))
    print("from outside the pods:", sorted({(ip, port) for ip, _, port in outside}))
    assert refused == [], sorted(set(refused))
    return edges


def test_every_connection_between_pods_is_one_the_network_policies_allow(
        pods_cluster, tmp_path):
    """Judged on the traffic of a walkthrough (policed_walkthrough), and the connections
    the architecture rests on were among it: else the check would prove nothing."""
    edges = {(client, server) for client, server, _ in
             policed_walkthrough(pods_cluster, tmp_path / "walkthrough")}
    assert {("gateway", "wps-node"), ("gateway", "file-service"), ("gateway", "redis"),
            ("wps-node", "redis"), ("wps-node", "seaweedfs"),
            ("file-service", "seaweedfs")} <= edges, edges


def test_the_running_containers_are_confined_as_their_pods_say(pods_cluster):
    """What only a running pod shows, read from its process on the node: not root, no
    capability, no new privileges; a service account token only in the operator, the one
    that talks to the API server; Redis refuses a client without the cluster's password."""
    cluster = pods_cluster
    for component in ("wps-node", "file-service", "gateway", "redis", "seaweedfs",
                      "operator"):
        pod = cluster.pods(component)[0]
        pid = container_pid(cluster, pod)
        status = dict(line.split(":", 1) for line in
                      Path(f"/proc/{pid}/status").read_text().splitlines())
        uids = status["Uid"].split()
        assert "0" not in uids, (component, status["Uid"])
        assert int(status["CapEff"], 16) == 0, (component, status["CapEff"])
        assert status["NoNewPrivs"].strip() == "1", component
        mounts = [line.split()[4] for line in
                  Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
        token = any(m.endswith("/secrets/kubernetes.io/serviceaccount") for m in mounts)
        assert token == (component == "operator"), (component, mounts)
    service = cluster.kube.get("service", f"{CLUSTER}-redis")
    port = cluster.node.forward_port(service["spec"]["clusterIP"], 6379)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, socket_timeout=10).ping()


# A grid of a million squares: long enough to delete its node while it runs.
GRID = {"TYPE": 2, "EXTENT": "0,10000,0,10000 [EPSG:3857]", "HSPACING": 10, "VSPACING": 10,
        "CRS": "EPSG:3857"}


def job_record(cluster: PodsCluster, redis_port: int, job_id: str) -> dict:
    secret = cluster.kube.get("secret", f"{CLUSTER}-redis-credentials")
    password = base64.b64decode(secret["data"]["password"]).decode()
    raw = redis.Redis(port=redis_port, password=password).hgetall(f"cloudgeo:job:{job_id}")
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def test_a_job_survives_its_node_pod_deleted_by_force(pods_cluster):
    cluster = pods_cluster
    service = cluster.kube.get("service", f"{CLUSTER}-redis")
    redis_port = cluster.node.forward_port(service["spec"]["clusterIP"], 6379)
    submitted = requests.post(f"{cluster.gateway}/api/wps/jobs", timeout=60, json={
        "identifier": "native:creategrid", "inputs": GRID, "mode": "async"})
    assert submitted.status_code == 200, submitted.text
    job_id = submitted.json()["data"]["JobId"]
    running_on = wait_for(lambda: job_record(cluster, redis_port, job_id).get("status") ==
                          "running" and job_record(cluster, redis_port, job_id)["node"],
                          120, "the job to run", interval=0.5)
    cluster.kube.kubectl("-n", NAMESPACE, "delete", "pod", running_on, "--grace-period=0",
                         "--force")
    final = wait_for(lambda: (lambda r: r if r.get("status") in ("succeeded", "failed")
                              else None)(job_record(cluster, redis_port, job_id)),
                     600, "the job to end", interval=1)
    assert final["status"] == "succeeded", final
    assert final["node"] != running_on and final["attempts"] == 2
    wait_for(lambda: len([p for p in cluster.pods("wps-node") if all(
        s["ready"] for s in p["status"].get("containerStatuses", []))]) == 2, 300,
        "the Deployment to replace the deleted pod", interval=2)


def test_a_third_node_serves_once_the_cluster_is_scaled(pods_cluster):
    cluster = pods_cluster
    cluster.kube.kubectl("-n", NAMESPACE, "scale", "geoprocessingcluster", CLUSTER,
                         "--replicas=3")
    wait_for(lambda: len(cluster.node_ids(tries=30)) == 3, 600,
             "three nodes answering through the gateway", interval=3)
    names = {p["metadata"]["name"] for p in cluster.pods("wps-node")}
    assert cluster.node_ids(tries=30) <= names


def test_prometheus_scrapes_every_pod_the_service_monitor_selects(pods_cluster, tmp_path):
    """Debian's Prometheus in the node scrapes every node, file service and gateway pod
    through the Services the chart's own ServiceMonitor selects (tests/support/prometheus.py
    stands in for the Prometheus Operator's translation and, Debian's build having none,
    for Kubernetes service discovery); then every query of the chart's Grafana dashboard
    returns series."""
    from cloudgeo.client import upload_file
    from cloudgeo.samples import point_shapefile_zip
    from tests.support import prometheus

    cluster = pods_cluster
    monitor = yaml.safe_load(cluster.kube.run(
        "helm", "template", RELEASE, str(ROOT / "charts/cloudgeo"), "--namespace", NAMESPACE,
        "--set", "serviceMonitor.enabled=true",
        "--show-only", "templates/servicemonitor.yaml").stdout)
    def list_objects(kind: str, selector: str) -> list[dict]:
        return cluster.kube.items(kind, NAMESPACE, "-l", selector)

    config = prometheus.write_config(tmp_path / "prometheus.yml",
                                     prometheus.scrape_jobs(monitor, tmp_path, list_objects))
    port = free_port()
    inside = f"{NODE_IP}:{port}"
    server = cluster.node.start_in_node("prometheus", [
        "prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address={inside}", "--web.enable-lifecycle"],
        lambda: cluster.node.in_node_get(f"http://{inside}/-/ready"))
    try:
        base = f"http://127.0.0.1:{cluster.node.forward_port(NODE_IP, port)}"
        pods = {p["metadata"]["name"] for component in ("wps-node", "file-service", "gateway")
                for p in cluster.pods(component)}
        def scraped_all() -> list[dict] | None:
            # A pod scaled up just before may turn ready only now: discovery follows it.
            prometheus.refresh_targets(monitor, tmp_path, list_objects)
            up = prometheus.query(base, "up")
            return up if {s["metric"]["pod"] for s in up if s["value"][1] == "1"} == pods \
                else None

        try:
            scraped = wait_for(scraped_all, 120, f"every pod of {sorted(pods)} scraped",
                               interval=2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: up {prometheus.query(base, 'up')}, unhealthy "
                                 f"{prometheus.unhealthy_targets(base)}") from None
        assert {s["metric"]["service"] for s in scraped} == {
            f"{CLUSTER}-{c}" for c in ("wps-node", "file-service", "gateway")}, scraped
        # Traffic for the rates: an upload and a job through the gateway.
        uploaded = upload_file(cluster.gateway, point_shapefile_zip(tmp_path, count=3))
        requests.post(f"{cluster.gateway}/api/wps/jobs", timeout=120, json={
            "identifier": "native:centroids", "inputs": {"INPUT": {
                "type": "reference", "href": f"{cluster.gateway}/api/file/retrieve/"
                                             f"{uploaded['name']}.{uploaded['format']}"}}},
        ).raise_for_status()
        dashboard = json.loads((ROOT / "charts/cloudgeo/dashboards/cloudgeo.json").read_text())
        queries = prometheus.dashboard_queries(dashboard)
        def unanswered() -> list[tuple[str, str]]:
            return [(title, q) for title, q in queries if not prometheus.query(base, q)]

        try:
            wait_for(lambda: not unanswered(), 60, "the dashboard's queries to return series",
                     interval=3)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {unanswered()}") from None
        backends = {s["metric"].get("service") for s in prometheus.query(
            base, "sum by (service) (traefik_service_requests_total)")}
        assert any(b and b.startswith("wps") for b in backends), backends  # Traefik's own
    finally:
        server.stop()


def test_walkthrough_through_the_charts_ingress(pods_cluster, tmp_path):
    """Our users' way in: the chart's Ingress (spec.gateway.ingress) served by a real
    ingress controller, Traefik's Kubernetes Ingress provider in a pod of our gateway
    image (tests/support/ingress.py), the publicURL the Ingress's, so that every link the
    walkthrough follows passes through it too."""
    from tests.support import ingress

    cluster, kube = pods_cluster, pods_cluster.kube
    controller = json.dumps({"apiVersion": "v1", "kind": "List", "items":
                             ingress.ingress_controller(INGRESS_NAMESPACE, reference("gateway"))})
    kube.kubectl("create", "namespace", INGRESS_NAMESPACE)
    try:
        kube.kubectl("apply", "-f", "-", input=controller)
        walk_through_the_ingress(cluster, tmp_path)
    finally:  # the controller is the test's, not the chart's: helm uninstall leaves it
        kube.kubectl("delete", "--wait", "--timeout=120s", "-f", "-", input=controller,
                     check=False)
        kube.kubectl("delete", "namespace", INGRESS_NAMESPACE, "--wait", "--timeout=120s",
                     check=False)


def walk_through_the_ingress(cluster: PodsCluster, tmp_path: Path) -> None:
    from tests.support import ingress

    kube = cluster.kube
    port = free_port()
    public = f"http://localhost:{port}"  # a DNS name (an Ingress host cannot be an IP)
    kube.kubectl("-n", NAMESPACE, "patch", "geoprocessingcluster", CLUSTER, "--type",
                 "merge", "-p", json.dumps({"spec": {"gateway": {
                     "publicURL": public, "ingress": {
                         "enabled": True, "host": "localhost", "className": ingress.CLASS}}}}))
    cluster.rolled_out()  # every node's links name the new publicURL
    made = kube.get("ingress", f"{CLUSTER}-gateway")
    assert made["spec"]["ingressClassName"] == ingress.CLASS
    kube.kubectl("-n", INGRESS_NAMESPACE, "rollout", "status", "--timeout=300s",
                 f"deployment/{ingress.NAME}")
    controller = kube.get("service", ingress.NAME, INGRESS_NAMESPACE)
    cluster.node.forward_port(controller["spec"]["clusterIP"], 80, local=port)
    # WPS 1.0.0 capabilities name the node's publicURL (its settings, not the request's).
    capabilities = f"{public}/api/wps/wps?service=WPS&request=GetCapabilities"

    def names_the_ingress() -> bool:
        answer = _answer(requests.get, capabilities, timeout=30)
        return answer is not None and f"{public}/api/wps/wps" in answer.text

    wait_for(lambda: all(names_the_ingress() for _ in range(8)), 180,
             "every node to answer through the Ingress, naming its URL", interval=2)
    text = walk_through(public, tmp_path / "walkthrough")
    assert f'"OUTPUT": "{public}/' in text  # the result's link is the Ingress's too
    other_host = requests.get(f"http://127.0.0.1:{port}/api/wps/processes", timeout=10)
    assert other_host.status_code == 404  # the Ingress answers for its host alone


def test_basic_authentication_refuses_anonymous_and_serves_its_users(pods_cluster):
    """Switched on in the running cluster (mode basic against an htpasswd Secret): an
    anonymous request is refused at the gateway, a user's is served and their job is
    theirs alone."""
    cluster = pods_cluster
    users = {"analyst": "first-secret", "other": "second-secret"}
    cluster.kube.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": f"{CLUSTER}-users", "namespace": NAMESPACE},
        "stringData": {"users": "".join(
            f"{user}:{{SHA}}{base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode()}\n"
            for user, pw in users.items())}}))
    cluster.kube.kubectl("-n", NAMESPACE, "patch", "geoprocessingcluster", CLUSTER,
                         "--type", "merge", "-p", json.dumps({"spec": {"gateway": {
                             "authentication": {"mode": "basic",
                                                "htpasswdSecret": f"{CLUSTER}-users"}}}}))
    jobs = f"{cluster.gateway}/api/wps/jobs"
    grid = {"identifier": "native:creategrid", "inputs": {**GRID, "EXTENT": (
        "0,100,0,100 [EPSG:3857]")}}
    cluster.rolled_out()
    wait_for(lambda: _status(requests.get, f"{cluster.gateway}/api/wps/processes") == 401,
             120, "the gateway to refuse anonymous requests", interval=2)
    refused = requests.post(jobs, json=grid, timeout=60)
    assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
    analyst = ("analyst", users["analyst"])
    assert _status(requests.get, f"{cluster.gateway}/api/wps/processes", auth=analyst) == 200
    served = requests.post(jobs, json=grid, auth=analyst, timeout=120)
    assert served.status_code == 200, served.text
    assert served.json()["data"]["status"] == "succeeded", served.text
    job_id = served.json()["data"]["jobId"]
    assert requests.get(f"{jobs}/{job_id}", auth=analyst, timeout=10).status_code == 200
    other = requests.get(f"{jobs}/{job_id}", auth=("other", users["other"]), timeout=10)
    assert other.status_code == 404, other.text  # another user's job is unknown to them
    wrong = requests.get(f"{jobs}/{job_id}", auth=("analyst", "guess"), timeout=10)
    assert wrong.status_code == 401


def test_helm_uninstall_removes_every_workload(pods_cluster):
    """Last: the chart's uninstall takes the GeoProcessingCluster, and with it (owner
    references, the garbage collector) every object the operator made, then the
    operator; no pod is left running on the node."""
    kube = pods_cluster.kube
    kube.run("helm", "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait",
             "--timeout", "300s")
    wait_for(lambda: not kube.items("pods", NAMESPACE), 300, "every pod to be gone",
             interval=2)
    left = kube.kubectl("-n", NAMESPACE, "get", "deployments,statefulsets,services,"
                        "configmaps,geoprocessingclusters", "-o", "name").stdout.split()
    assert [name for name in left if "kube-root-ca" not in name] == []
    running = pods_cluster.node.ctr("tasks", "list", "-q").stdout.split()
    assert running == [], running



def test_the_consul_registry_variant_routes_by_consuls_catalogue(pods_cluster, built_images,
                                                                  tmp_path):
    """The seed's registry for real (after the uninstall above): Consul 1.16.1, built from
    its Go module and run from a test image, as spec.registry; every node and file
    service registers in its catalogue, the gateway's Traefik routes by it (its Consul
    Catalog provider is its only source of servers), and a node deleted leaves it."""
    from cloudgeo.registry.names import FILE_SERVICE, WPS_SERVICE

    kube, node = pods_cluster.kube, pods_cluster.node
    archive = built_images.save(["test-consul"], tmp_path / "consul.tar")  # built now
    node.import_image(archive)
    archive.unlink()
    port = free_port()
    values = chart_values(f"http://127.0.0.1:{port}")
    values["cluster"]["spec"]["registry"] = {"type": "consul",
                                             "consul": {"image": reference("test-consul")}}
    # Ready needs every node registered: its readiness probe asks the registry.
    cluster = install_chart(kube, node, values, port, "the cluster with Consul")
    consul = kube.get("service", f"{CLUSTER}-consul")
    catalog = f"http://127.0.0.1:{node.forward_port(consul['spec']['clusterIP'], 8500)}"

    def registered(service: str) -> set[str]:
        answer = requests.get(f"{catalog}/v1/health/service/{service}?passing=true",
                              timeout=10).json()
        return {entry["Service"]["Address"] for entry in answer}

    def pod_ips(component: str) -> set[str]:
        return {p["status"].get("podIP") for p in cluster.pods(component)
                if p["metadata"].get("deletionTimestamp") is None}

    wait_for(lambda: registered(WPS_SERVICE) == pod_ips("wps-node") and
             registered(FILE_SERVICE) == pod_ips("file-service"), 300,
             "every node and file service in Consul's catalogue, passing", interval=2)
    edges = {(client, server) for client, server, _ in
             policed_walkthrough(cluster, tmp_path / "walkthrough")}
    assert {("gateway", "consul"), ("gateway", "wps-node")} <= edges, edges
    names = {p["metadata"]["name"] for p in cluster.pods("wps-node")}
    assert cluster.node_ids() == names
    gone = sorted(names)[0]
    gone_ip = {p["metadata"]["name"]: p["status"]["podIP"] for p in cluster.pods("wps-node")}[
        gone]
    kube.kubectl("-n", NAMESPACE, "delete", "pod", gone)  # graceful: it deregisters
    wait_for(lambda: gone_ip not in registered(WPS_SERVICE) and
             registered(WPS_SERVICE) == pod_ips("wps-node") and len(pod_ips("wps-node")) == 2,
             300, "the deleted node out of Consul's catalogue, its replacement in",
             interval=2)
    answered = cluster.node_ids()
    assert gone not in answered and answered <= {
        p["metadata"]["name"] for p in cluster.pods("wps-node")}
    kube.run("helm", "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait",
             "--timeout", "300s")
