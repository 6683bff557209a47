"""OGC API callbacks on real nodes: a subscriber on 127.0.0.1 (allow-listed on the nodes)
gets each job's in-progress status, and its results or its failure, exactly once; one
that fails twice gets it on the third try; refused subscriber URLs queue nothing; and a
job whose node is killed mid-run is announced once by the node that finishes it.

The queue itself (made once per job and status, claimed by exactly one deliverer) is
tested first, on Redis alone.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
import requests

from cloudgeo.wpsnode.jobs.callbacks import DUE, CallbackQueue, delivery_key
from cloudgeo.wpsnode.jobs.record import JobRecord
from cloudgeo.wpsnode.jobs.store import INDEX, JobStore
from tests.conftest import start_wps_node
from tests.integration.test_wps_survival import record as stored_record
from tests.support.ogc_schemas import errors
from tests.support.wps import download, vector_summary


class Subscriber:
    """Records every POST (path, content type, JSON body, when); a path answers the
    statuses scripted for it in turn, then 200."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, dict, float]] = []
        self.scripts: dict[str, list[int]] = {}
        self.endless: set[str] = set()  # paths that answer 200 with a body without end
        seen, scripts, endless = self.posts, self.scripts, self.endless

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append((self.path, self.headers.get("Content-Type", ""),
                             json.loads(body), time.monotonic()))
                if self.path in endless:
                    self.send_response(200)
                    self.send_header("Content-Length", str(10**12))
                    self.end_headers()
                    try:
                        while True:
                            self.wfile.write(b"x" * 65536)
                    except OSError:  # the node hung up without reading it
                        return
                script = scripts.get(self.path)
                status = script.pop(0) if script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def uris(self, tag: str) -> dict[str, str]:
        return {"successUri": f"{self.url}/{tag}/success",
                "inProgressUri": f"{self.url}/{tag}/running",
                "failedUri": f"{self.url}/{tag}/failed"}

    def received(self, path: str) -> list[tuple[str, dict, float]]:
        return [(kind, body, at) for seen, kind, body, at in self.posts if seen == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received(path)) >= count:
                return self.received(path)
            time.sleep(0.1)
        raise AssertionError(f"{path}: {len(self.received(path))} POSTs, not {count}")


@pytest.fixture(scope="module")
def subscriber():
    hooks = Subscriber()
    yield hooks
    hooks.server.shutdown()
    hooks.server.server_close()


@pytest.fixture(scope="module")
def redis_url(redis_server) -> str:
    """A database of this module's own: every node of the session delivers the callbacks
    due in its database, and the session's other nodes (database 0) would take these
    jobs' callbacks under their own callback allow-list (seen when node-a ran beside)."""
    url = redis_server.url.rsplit("/", 1)[0] + "/10"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="module")
def nodes(state_root, file_s3, file_api, redis_url, catalog_path, subscriber, dead_port):
    """Two nodes on a queue of their own, one QGIS worker each; the subscriber's host
    named on their callback allow-list (besides any public host)."""
    started = [start_wps_node(state_root, f"node-cb{name}", file_s3, redis_url,
                              file_api.url, catalog_path, queue="callbacks",
                              qgis_workers="1", callback_hosts=f"*,{subscriber.url}",
                              allowed_hosts=f"{file_api.url},http://127.0.0.1:{dead_port}")
               for name in ("x", "y")]
    yield started
    for node in started:
        node.stop()


def execute(node, process: str, body: dict) -> str:
    r = requests.post(f"{node.url}/ogcapi/processes/{process}/execution", json=body,
                      headers={"Prefer": "respond-async"}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["jobID"]


def wait_job(node, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = requests.get(f"{node.url}/ogcapi/jobs/{job_id}", timeout=10).json()
        if info["status"] in ("successful", "failed", "dismissed"):
            return info
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {info['status']}")


def settle(seconds: float = 3.0) -> None:
    """Lets any duplicate arrive before counting."""
    time.sleep(seconds)


# -- the queue on Redis alone ---------------------------------------------------------------

def test_a_change_is_queued_once_and_claimed_by_one_deliverer(redis_url):
    client = redis.Redis.from_url(redis_url)
    store = JobStore(client, 60)
    job_id = uuid.uuid4().hex
    store.create(JobRecord(jobId=job_id, identifier="echo", mode="async", status="accepted",
                           created=time.time(), plan={},
                           subscriber={"inProgressUri": "http://hooks.test/run"}))
    store.update(job_id, status="running", started=time.time(), message="running")
    store.update(job_id, status="accepted", message="queued again: node n died")
    store.update(job_id, status="running", started=time.time(), message="running")
    store.finish(job_id, status="succeeded", output={})  # no successUri: nothing owed
    member = f"{job_id}:running".encode()
    assert client.zscore(DUE, member) is not None
    assert not client.exists(delivery_key(job_id, "succeeded"))
    deliverers = [CallbackQueue(client, 60) for _ in range(8)]
    claims: list = []
    threads = [threading.Thread(target=lambda q=q: claims.extend(q.claim(time.time(), 100)))
               for q in deliverers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = [c for c in claims if c.job_id == job_id]
    assert len(mine) == 1 and mine[0].url == "http://hooks.test/run"
    assert mine[0].snapshot["status"] == "running" and mine[0].attempts == 0
    assert deliverers[0].retry(mine[0], time.time()) == 1  # back, due in a second
    assert deliverers[0].claim(time.time(), 100) == []
    (again,) = [c for c in deliverers[0].claim(time.time() + 1.5, 100) if c.job_id == job_id]
    assert again.attempts == 1
    deliverers[0].settle(again, "delivered")
    assert client.zscore(DUE, member) is None
    assert 0 < client.ttl(delivery_key(job_id, "running")) <= 60
    store.remove(job_id)


# -- deliveries from real nodes ---------------------------------------------------------------

def test_a_job_posts_in_progress_then_its_results_once_each(nodes, subscriber, samples):
    node = nodes[0]
    job_id = execute(node, "native:buffer", {
        "inputs": {"INPUT": {"href": samples["points"]}, "DISTANCE": 10},
        "subscriber": subscriber.uris("ok")})
    assert wait_job(node, job_id)["status"] == "successful"
    ((kind, results, _),) = subscriber.wait_for("/ok/success")
    settle()
    assert len(subscriber.received("/ok/success")) == 1
    assert kind == "application/json"
    assert errors("results.yaml", results) == []
    href = results["OUTPUT"]["href"]
    assert "/api/file/retrieve/" in href
    assert results["OUTPUT"]["type"] == "application/geopackage+sqlite3"
    assert vector_summary(download(href))[0] == 10
    ((_, running, _),) = subscriber.received("/ok/running")
    assert running["jobID"] == job_id and running["status"] == "running"
    assert running["processID"] == "native:buffer" and "finished" not in running
    assert errors("statusInfo.yaml", running) == []
    # Links point at the public entry point (these nodes' gateway is the file service).
    assert running["links"][0]["href"] == f"{node.env['CLOUDGEO_PUBLIC_URL']}" \
                                          f"/api/wps/ogcapi/jobs/{job_id}"
    assert subscriber.received("/ok/failed") == []
    assert requests.get(f"{node.url}/ogcapi/jobs/{job_id}/results",
                        timeout=10).json() == results  # what GET answers, as posted


def test_a_failing_job_posts_its_failure_once(nodes, subscriber, dead_port):
    node = nodes[1]
    job_id = execute(node, "native:buffer", {
        "inputs": {"INPUT": {"href": f"http://127.0.0.1:{dead_port}/gone.zip"}},
        "subscriber": subscriber.uris("bad")})
    assert wait_job(node, job_id)["status"] == "failed"
    ((kind, failed, _),) = subscriber.wait_for("/bad/failed")
    assert kind == "application/json"
    settle()
    assert len(subscriber.received("/bad/failed")) == 1
    assert failed["status"] == "failed" and failed["jobID"] == job_id
    assert "cannot be reached" in failed["message"]
    assert errors("statusInfo.yaml", failed) == []
    assert subscriber.received("/bad/success") == []
    assert len(subscriber.received("/bad/running")) == 1


def test_a_subscriber_failing_twice_gets_it_on_the_third_try(nodes, subscriber):
    subscriber.scripts["/flaky/success"] = [500, 503]
    job_id = execute(nodes[0], "echo", {"inputs": {"stringInput": "Value2"},
                                        "subscriber": {"successUri":
                                                       f"{subscriber.url}/flaky/success"}})
    assert wait_job(nodes[0], job_id)["status"] == "successful"
    posts = subscriber.wait_for("/flaky/success", 3)
    settle()
    assert len(subscriber.received("/flaky/success")) == 3
    assert all(body == {"stringOutput": "Value2"} for _, body, _ in posts)
    first, second, third = (at for _, _, at in posts)
    assert 0.8 < second - first < 2.5 and 1.8 < third - second < 3.5  # 1 s, then 2 s
    metrics = "".join(requests.get(f"{node.url}/metrics", timeout=10).text for node in nodes)
    assert 'cloudgeo_wps_callbacks_total{outcome="retried",status="successful"}' in metrics


def delivered(nodes) -> float:
    """Successful-job callbacks delivered, over both nodes (prometheus text format)."""
    total = 0.0
    for node in nodes:
        for line in requests.get(f"{node.url}/metrics", timeout=10).text.splitlines():
            if line.startswith('cloudgeo_wps_callbacks_total{outcome="delivered",'
                               'status="successful"}'):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_subscribers_endless_answer_is_not_read(nodes, subscriber):
    subscriber.endless.add("/endless/success")
    before = delivered(nodes)
    job_id = execute(nodes[0], "echo", {"inputs": {"stringInput": "Value1"},
                                        "subscriber": {"successUri":
                                                       f"{subscriber.url}/endless/success"}})
    assert wait_job(nodes[0], job_id)["status"] == "successful"
    subscriber.wait_for("/endless/success")
    settle()
    # Delivered on its 200, once: the node hung up rather than read a terabyte.
    assert len(subscriber.received("/endless/success")) == 1
    assert delivered(nodes) == before + 1
    assert requests.get(f"{nodes[0].url}/health", timeout=10).status_code == 200


# {hook}: the subscriber's host:port, which the nodes name on their callback allow-list.
REFUSED = {
    # On this machine, with valid inputs: nothing queued says the guard.
    "loopback-not-named": ({"successUri": "http://127.0.0.1:1/cb"}, "subscriber.successUri",
                           "private address"),
    "not-http": ({"failedUri": "ftp://{hook}/cb"}, "subscriber.failedUri",
                 "only http and https"),
    "credentials": ({"inProgressUri": "http://user:pw@{hook}/cb"}, "subscriber.inProgressUri",
                    "credentials"),
    # Off this machine, with an input the process refuses as well: a broken guard fails
    # the test without making a job, so nothing is ever posted there.
    "metadata": ({"successUri": "http://169.254.169.254/latest/meta-data"},
                 "subscriber.successUri", "metadata"),
    "link-local": ({"inProgressUri": "http://169.254.77.1/cb"}, "subscriber.inProgressUri",
                   "link-local"),
    "private": ({"failedUri": "http://10.20.30.40/cb"}, "subscriber.failedUri",
                "private address"),
}
OFF_MACHINE = {"metadata", "link-local", "private"}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_subscribers_are_400_naming_the_field_and_queue_nothing(
        nodes, subscriber, redis_url, case):
    urls, field, words = REFUSED[case]
    hook = subscriber.url.removeprefix("http://")
    urls = {key: url.format(hook=hook) for key, url in urls.items()}
    client = redis.Redis.from_url(redis_url)
    jobs, due = client.zcard(INDEX), client.zcard(DUE)
    inputs = {"stringInput": "NotAWord" if case in OFF_MACHINE else "Value1"}
    r = requests.post(f"{nodes[0].url}/ogcapi/processes/echo/execution",
                      headers={"Prefer": "respond-async"},
                      json={"inputs": inputs, "subscriber": urls}, timeout=30)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert f"'{field}'" in r.json()["detail"] and words in r.json()["detail"], r.json()
    assert client.zcard(INDEX) == jobs and client.zcard(DUE) == due


def test_the_json_api_takes_the_same_subscriber(nodes, subscriber, samples, redis_url):
    client = redis.Redis.from_url(redis_url)
    jobs = client.zcard(INDEX)
    refused = requests.post(f"{nodes[0].url}/jobs", timeout=30, json={
        "identifier": "native:buffer", "mode": "async",
        "inputs": {"INPUT": {"type": "reference", "href": samples["points"]}},
        "subscriber": {"successUri": "http://127.0.0.1:1/cb"}})
    assert refused.status_code == 400 and refused.json()["data"]["field"] == \
        "subscriber.successUri"
    assert client.zcard(INDEX) == jobs
    accepted = requests.post(f"{nodes[0].url}/jobs", timeout=30, json={
        "identifier": "native:buffer", "mode": "async",
        "inputs": {"INPUT": {"type": "reference", "href": samples["points"]}},
        "subscriber": {"successUri": f"{subscriber.url}/seed/success"}})
    assert accepted.status_code == 200, accepted.text
    ((_, results, _),) = subscriber.wait_for("/seed/success", timeout=120)
    assert "/api/file/retrieve/" in results["OUTPUT"]["href"]


# Last: it kills one of the module's nodes.
def test_a_job_whose_node_is_killed_is_announced_once_by_the_node_finishing_it(
        nodes, subscriber, redis_url):
    job_id = execute(nodes[0], "echo", {"inputs": {"stringInput": "Value3", "pause": 8},
                                        "subscriber": subscriber.uris("killed")})
    subscriber.wait_for("/killed/running", timeout=60)
    running_on = stored_record(redis_url, job_id)["node"]
    victim, survivor = (nodes[0], nodes[1]) if running_on == "node-cbx" else \
        (nodes[1], nodes[0])
    victim.process.kill()  # kill -9 of the whole node: HTTP and QGIS workers
    assert wait_job(survivor, job_id, timeout=120)["status"] == "successful"
    ((_, results, _),) = subscriber.wait_for("/killed/success")
    settle()
    assert results == {"stringOutput": "Value3"}
    assert len(subscriber.received("/killed/success")) == 1
    assert len(subscriber.received("/killed/running")) == 1  # not again for the re-run
    final = stored_record(redis_url, job_id)
    assert final["attempts"] == 2 and final["node"] == survivor.env["CLOUDGEO_WPS_NODE_ID"]
