"""A whole local cluster (`cloudgeo up`): Traefik, three WPS nodes, Redis, SeaweedFS and the
file service, all real, on free 127.0.0.1 ports; requests go through the gateway."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from cloudgeo.cli import main as cloudgeo
from cloudgeo.client import form_length, streamed_form
from cloudgeo.common.managed_processes import free_port, port_is_free
from cloudgeo.common.processes import pid_alive
from cloudgeo.localcluster.cluster import (
    ClusterError,
    ClusterState,
    rotation,
)
from cloudgeo.registry.names import FILE_SERVICE
from tests.support.cluster import start_cluster, upload
from tests.support.streams import MIB, random_chunks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster(state_root, catalog_path):
    local, state = start_cluster(state_root, catalog_path, "cluster", nodes=3)
    yield local, state
    local.down()


@pytest.fixture(scope="module")
def points_link(cluster, state_root):
    from cloudgeo.samples import point_shapefile_zip

    _, state = cluster
    return upload(state.gateway_url, point_shapefile_zip(state_root / "cluster-data"))


def buffer(gateway: str, link: str, timeout: float = 120) -> requests.Response:
    return requests.post(f"{gateway}/api/wps/jobs", timeout=timeout, json={
        "identifier": "native:buffer",
        "inputs": {"INPUT": {"type": "reference", "href": link}, "DISTANCE": 10}})


def test_status_names_every_component(cluster, capsys):
    local, _ = cluster
    assert cloudgeo(["--state", str(local.dir), "status"]) == 0
    out = capsys.readouterr().out
    for name in ("redis", "seaweedfs", "file-service", "gateway", "wps-node-1", "wps-node-2",
                 "wps-node-3"):
        assert name in out
    assert "unhealthy" not in out and "stopped" not in out


def test_a_second_up_says_so(cluster):
    local, state = cluster
    with pytest.raises(ClusterError, match="already running"):
        local.up(nodes=3, ports=state.ports)


def test_seed_load_spreads_across_the_nodes(cluster, points_link):
    _, state = cluster

    def client(_: int) -> list[str]:
        nodes = []
        for _ in range(3):
            r = buffer(state.gateway_url, points_link)
            assert r.status_code == 200, r.text
            nodes.append(r.headers["X-CloudGeo-Node"])
        return nodes

    with ThreadPoolExecutor(12) as pool:
        served = Counter(n for batch in pool.map(client, range(12)) for n in batch)
    assert set(served) == {"wps-node-1", "wps-node-2", "wps-node-3"}
    assert all(10 <= count <= 14 for count in served.values()), served


def test_outputs_download_through_the_gateway(cluster, points_link):
    _, state = cluster
    link = buffer(state.gateway_url, points_link).json()["data"]["output"]["OUTPUT"]
    assert link.startswith(f"{state.gateway_url}/api/file/retrieve/")
    assert requests.get(link, timeout=30).content[:15] == b"SQLite format 3"


def test_wps10_async_execute_through_the_gateway(cluster, points_link):
    """OWSLib, unmodified, against the gateway: the statusLocation it polls is answered by
    whichever node Traefik picks, and every node renders the same document."""
    from owslib.wps import ASYNC, ComplexDataInput, WebProcessingService

    _, state = cluster
    wps = WebProcessingService(f"{state.gateway_url}/api/wps/wps", skip_caps=True, timeout=60)
    execution = wps.execute(
        "native:buffer",
        [("INPUT", ComplexDataInput(points_link, mimeType="application/zip")),
         ("DISTANCE", "10")], output=[("OUTPUT", True)], mode=ASYNC)
    assert execution.status == "ProcessAccepted", execution.response
    assert execution.statusLocation.startswith(f"{state.gateway_url}/api/wps/wps/status/")
    deadline = time.monotonic() + 60
    while not execution.isComplete() and time.monotonic() < deadline:
        execution.checkStatus(sleepSecs=0.2)
    assert execution.isSucceeded(), execution.response
    assert requests.get(execution.processOutputs[0].reference,
                        timeout=30).content[:15] == b"SQLite format 3"
    answers = [requests.get(execution.statusLocation, timeout=10) for _ in range(6)]
    assert {a.headers["X-CloudGeo-Node"] for a in answers} == {
        "wps-node-1", "wps-node-2", "wps-node-3"}
    assert len({a.text for a in answers}) == 1


def in_rotation(state, port: int) -> bool:
    return rotation(state).get(f"http://127.0.0.1:{port}") == "UP"


def load_while(action, state, link, seconds_before=2.0, seconds_after=5.0):
    """Six clients send sync jobs through the gateway; `action` happens meanwhile.
    Returns (when the action happened, [(started, finished, status, node)])."""
    results: list[tuple[float, float, int, str]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = buffer(state.gateway_url, link, timeout=60)
                status, node = response.status_code, response.headers.get("X-CloudGeo-Node")
                if status != 200:  # what a client needs to act on the failure
                    node = (node, response.headers.get("Retry-After"),
                            response.headers.get("Content-Type"), response.text[:300])
            except requests.RequestException as exc:
                status, node = 0, type(exc).__name__
            results.append((started, time.monotonic(), status, node))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(seconds_before)
    acted = time.monotonic()
    action()
    time.sleep(seconds_after)
    stop.set()
    for thread in threads:
        thread.join(120)
    return acted, results


def node_pid(local, name: str) -> int:
    return next(c.pid for c in ClusterState.load(local.dir).components if c.name == name)


def rejoin(local, state, name: str, port: int, link: str) -> None:
    local.restart(name)
    deadline = time.monotonic() + 30
    while not in_rotation(state, port):
        assert time.monotonic() < deadline, f"{name} did not rejoin the rotation"
        time.sleep(0.2)
    served = {buffer(state.gateway_url, link).headers["X-CloudGeo-Node"] for _ in range(9)}
    assert name in served


def test_a_node_stopped_under_load_costs_no_request(cluster, points_link):
    local, state = cluster
    port = state.ports.first_node + 1
    # SIGTERM to the node's main process, as `cloudgeo down` and Kubernetes send it.
    _, results = load_while(lambda: os.kill(node_pid(local, "wps-node-2"), signal.SIGTERM),
                            state, points_link)
    assert len(results) > 20
    assert Counter(status for _, _, status, _ in results) == {200: len(results)}
    assert not in_rotation(state, port)
    rejoin(local, state, "wps-node-2", port, points_link)


def test_a_node_killed_under_load_fails_only_requests_it_was_answering(cluster, points_link):
    """kill -9: Traefik retries a request the dead node never received, but not one
    already written to it (it cannot know whether a POST took effect): requests in
    flight, and those sent on its pooled connections until the health check drops it
    (1 s interval, 1 s timeout), fail. They get 503 with Retry-After in the seed's
    envelope, written by the file service, never Traefik's bare 502. Every later request
    succeeds and none hangs: jobs the dead node held are taken over by the others."""
    local, state = cluster
    port = state.ports.first_node + 2
    killed, results = load_while(
        lambda: os.killpg(node_pid(local, "wps-node-3"), signal.SIGKILL), state, points_link)
    relative = [(round(start - killed, 2), round(end - start, 2), status, node)
                for start, end, status, node in results]
    failed = [r for r in relative if r[2] != 200]
    assert failed, "no request was in flight on the killed node: the test proved nothing"
    for *_, status, answer in failed:
        answered_by, retry_after, media, text = answer
        assert (status, retry_after, media) == (503, "1", "application/json"), failed
        assert answered_by is None, failed  # the file service wrote it: nodes name themselves
        assert json.loads(text)["success"] is False and "send it again" in text
    assert len(results) > 20
    eviction = 2.5  # health-check interval + timeout, and some slack
    assert all(start < eviction for start, *_ in failed), failed
    assert len([r for r in relative if r[0] > eviction]) > 10
    # The jobs the dead node held are rescued once its heartbeat (4 s) has expired.
    assert all(took < 20 for _, took, *_ in relative), [r for r in relative if r[1] >= 20]
    assert not in_rotation(state, port)
    # No job is left behind, even those whose callers got the 503: the surviving nodes'
    # sweepers queue them again and they finish.
    client = redis.Redis(port=state.ports.redis)
    deadline = time.monotonic() + 60
    while left := client.smembers("cloudgeo:jobs:unfinished"):
        assert time.monotonic() < deadline, f"jobs left behind: {left}"
        time.sleep(0.5)
    rejoin(local, state, "wps-node-3", port, points_link)


# (which service answers, a public path, the answer's media type, a mark of its shape)
GATEWAY_PAGES = [
    ("files", "/api/wps/ogcapi/processes/native:buffer/execution", "application/problem+json",
     '"status":503'),
    ("files", "/api/wps/wps", "text/xml", 'exceptionCode="ServerBusy"'),
    ("files", "/api/wps/jobs/abc", "application/json", '"msg":'),
    ("wps", "/api/file/upload", "application/json", '"message":'),
]


@pytest.mark.parametrize(("answerer", "path", "media", "marker"), GATEWAY_PAGES)
def test_the_gateway_asks_the_other_service_for_a_lost_requests_answer(
        cluster, answerer, path, media, marker):
    """The errors middleware's page request, as Traefik sends it, to the internal entry
    point: every API gets its own error shape, from the service that did not die."""
    _, state = cluster
    answer = requests.get(f"http://127.0.0.1:{state.ports.gateway_metrics}"
                          f"/answer-lost-by-{answerer}/gateway/unavailable",
                          params={"url": path}, timeout=10)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.headers["Content-Type"].startswith(media)
    assert marker in answer.text.replace(" ", "")
    assert ("X-CloudGeo-Node" in answer.headers) == (answerer == "wps")
    # The public entry point has no route of its own to it: through it the path reaches
    # a service like any other, and the page tells nothing either.
    assert requests.get(f"{state.gateway_url}/answer-lost-by-{answerer}/gateway/unavailable",
                        timeout=10).status_code == 404


@pytest.mark.parametrize(("answerer", "path", "media", "marker"), GATEWAY_PAGES)
def test_the_gateway_asks_the_other_service_to_answer_when_no_server_is_up(
        cluster, answerer, path, media, marker):
    """The no-server fallback's request, as Traefik sends it (the caller's public path
    after the route's prefix): the page says nothing was done, in the caller's API."""
    _, state = cluster
    answer = requests.get(f"http://127.0.0.1:{state.ports.gateway_metrics}"
                          f"/no-server-answered-by-{answerer}{path}",
                          headers={"X-Replaced-Path": "/api/wps/wps"}, timeout=10)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.headers["Content-Type"].startswith(media)  # not the forged header's
    assert marker in answer.text.replace(" ", "") and "nothing was done" in answer.text
    assert ("X-CloudGeo-Node" in answer.headers) == (answerer == "wps")
    assert requests.get(f"{state.gateway_url}/no-server-answered-by-{answerer}{path}",
                        timeout=10).status_code == 404  # internal only


@pytest.mark.parametrize("how", ["stopped", "hung"])
def test_no_file_server_answers_503_in_the_file_api_until_one_is_back(cluster, how, tmp_path):
    """The only file service stopped (it deregisters, and takes its service out of the
    registry: the gateway's lowest-priority route answers) or hung (still registered,
    evicted by the health check: the failover service answers). Either way a caller gets
    503 with Retry-After in the file envelope, written by a WPS node, never Traefik's
    bare 503 or a 404; authentication and the job API are untouched; once the file
    service is back, files come and go again."""
    local, state = cluster
    pid = node_pid(local, "file-service")
    files = f"{state.gateway_url}/api/file"
    if how == "stopped":
        os.kill(pid, signal.SIGTERM)  # as `cloudgeo down` and Kubernetes stop it
    else:
        os.killpg(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 20
        # Requests sent to a hung server hang with it (as with any proxy); the health
        # check evicts it within an interval and a timeout.
        while "UP" in rotation(state, FILE_SERVICE).values():
            assert time.monotonic() < deadline, "the gateway kept the file service"
            time.sleep(0.3)
        while (download := requests.get(f"{files}/retrieve/none.gpkg", timeout=10)
               ).headers.get("Retry-After") != "5":
            assert time.monotonic() < deadline, (download.status_code, download.text[:200])
            time.sleep(0.3)
        # A body the page never reads (20 MiB here) still gets the page, not a 502.
        sent = requests.put(f"{files}/upload", timeout=30,
                            files={"file": ("a.bin", os.urandom(20 * MIB))})
        for refused in (download, sent):
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
            assert refused.headers["Content-Type"] == "application/json"
            assert refused.headers["X-CloudGeo-Node"].startswith("wps-node-")
            assert refused.json()["success"] is False
            assert "nothing was done" in refused.json()["message"]
        assert requests.get(f"{state.gateway_url}/api/wps/health", timeout=10).ok
    finally:
        if how == "hung":
            os.killpg(pid, signal.SIGCONT)
    if how == "stopped":
        local.restart("file-service")
    deadline = time.monotonic() + 20
    while requests.get(f"{files}/retrieve/none.gpkg", timeout=10).status_code == 503:
        assert time.monotonic() < deadline, "the file service did not come back"
        time.sleep(0.3)
    (tmp_path / "back.txt").write_bytes(b"back")
    assert requests.get(upload(state.gateway_url, tmp_path / "back.txt"),
                        timeout=10).content == b"back"


@pytest.mark.slow
def test_one_gib_through_the_gateway(cluster):
    _, state = cluster
    size = 1024 * MIB
    sent, received = hashlib.sha256(), hashlib.sha256()
    body, content_type = streamed_form(random_chunks(size, sent), "big.tif")
    request = requests.Request("PUT", f"{state.gateway_url}/api/file/upload", data=body,
                               headers={"Content-Type": content_type}).prepare()
    del request.headers["Transfer-Encoding"]
    request.headers["Content-Length"] = str(form_length(size, "big.tif"))
    with requests.Session() as session:
        r = session.send(request, timeout=600)
    assert r.status_code == 200, r.text
    info = r.json()["data"]
    with requests.get(info["url"], stream=True, timeout=600) as download:
        for chunk in download.iter_content(MIB):
            received.update(chunk)
    assert info["length"] == size
    assert received.hexdigest() == sent.hexdigest()
    requests.delete(f"{state.gateway_url}/api/file/delete/{info['name']}", timeout=60)


def test_prometheus_scrapes_gateway_nodes_and_file_service(cluster, points_link, tmp_path):
    _, state = cluster
    port = free_port()
    nodes = [f"127.0.0.1:{state.ports.first_node + i}" for i in range(3)]
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: gateway
    static_configs: [{{targets: ["127.0.0.1:{state.ports.gateway_metrics}"]}}]
  - job_name: wps
    static_configs: [{{targets: {nodes!r}}}]
  - job_name: files
    static_configs: [{{targets: ["127.0.0.1:{state.ports.file_service}"]}}]
""".replace("'", '"'))
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(12):
            buffer(state.gateway_url, points_link)

        def query(expression: str) -> list:
            r = requests.get(f"http://127.0.0.1:{port}/api/v1/query",
                             params={"query": expression}, timeout=5)
            return r.json()["data"]["result"] if r.status_code == 200 else []

        per_node = 'sum by (instance) (cloudgeo_wps_requests_total{route="/jobs"})'
        expected = {
            per_node: 3,
            'sum(traefik_service_requests_total{service="py-wps@redis"})': 1,
            "sum(cloudgeo_file_requests_total)": 1,
            "sum(cloudgeo_wps_workers)": 1,
        }
        deadline = time.monotonic() + 60
        while missing := [q for q, n in expected.items() if len(query(q)) < n]:
            assert time.monotonic() < deadline, f"Prometheus never answered {missing}"
            time.sleep(0.5)
        assert {r["metric"]["instance"] for r in query(per_node)} == set(nodes)
        assert all(float(r["value"][1]) > 0 for r in query(per_node))
        check_dashboard(port, [f"http://{n}/metrics" for n in nodes[:1]] + [
            f"http://127.0.0.1:{state.ports.file_service}/metrics",
            f"http://127.0.0.1:{state.ports.gateway_metrics}/metrics"])
    finally:
        os.killpg(prometheus.pid, signal.SIGTERM)
        prometheus.wait(30)


def check_dashboard(prometheus_port: int, metrics_urls: list[str]) -> None:
    """The chart's Grafana dashboard names only metrics the services and Traefik export
    (read from their live /metrics), and real Prometheus accepts every query."""
    board = json.loads((ROOT / "charts/cloudgeo/dashboards/cloudgeo.json").read_text())
    queries = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    exported = {line.split("{")[0].split(" ")[0]
                for url in metrics_urls
                for line in requests.get(url, timeout=10).text.splitlines()
                if line and not line.startswith("#")}
    named = {name for q in queries for name in re.findall(r"\b(?:cloudgeo|traefik)_\w+", q)}
    assert named and named <= exported, sorted(named - exported)
    for query in queries:
        r = requests.get(f"http://127.0.0.1:{prometheus_port}/api/v1/query", timeout=5,
                         params={"query": query.replace("$__rate_interval", "1m")})
        assert r.status_code == 200 and r.json()["status"] == "success", (query, r.text)


def test_down_leaves_nothing_running(cluster):
    local, state = cluster
    pids = [c.pid for c in ClusterState.load(local.dir).components]
    # weed's gRPC sockets at fixed /tmp paths: `down` stops it from another process.
    sockets = (local.dir / "seaweedfs/tmp-sockets").read_text().split()
    assert len(sockets) == 2 and any(Path(s).exists() for s in sockets), sockets
    assert cloudgeo(["--state", str(local.dir), "down"]) == 0
    assert not any(pid_alive(pid) for pid in pids)
    assert not any(Path(s).exists() for s in sockets), sockets
    ports = state.ports
    for port in (ports.gateway, ports.gateway_metrics, ports.file_service, ports.redis,
                 ports.s3, ports.first_node, ports.first_node + 1, ports.first_node + 2):
        assert port_is_free(port), port
    assert cloudgeo(["--state", str(local.dir), "status"]) == 3
