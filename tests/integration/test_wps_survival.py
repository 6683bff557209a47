"""Jobs survive the death of the node running them, and many async jobs run exactly once."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from cloudgeo.wpsnode.jobs.keys import node_alive_key
from tests.conftest import start_wps_node
from tests.integration.test_wps_async import GRID
from tests.support.wps import execute, ref


@pytest.fixture
def two_nodes(state_root, file_s3, file_api, redis_server, catalog_path):
    nodes = [start_wps_node(state_root, f"node-{name}", file_s3, redis_server.url,
                            file_api.url, catalog_path, queue="survival")
             for name in ("x", "y")]
    yield nodes
    for node in nodes:
        node.stop()


def record(redis_url: str, job_id: str) -> dict:
    raw = redis.Redis.from_url(redis_url).hgetall(f"cloudgeo:job:{job_id}")
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def wait_status(node_url: str, job_id: str, wanted: set[str], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = requests.get(f"{node_url}/jobs/{job_id}", timeout=10).json()["data"]
        if data["status"] in wanted:
            return data
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {wanted}: {data}")


def test_fifty_async_jobs_across_two_nodes_run_exactly_once(two_nodes, samples,
                                                           redis_server):
    body_inputs = {"INPUT": ref(samples["points"])}

    def submit(index: int) -> str:
        node = two_nodes[index % 2]
        r = execute(node.url, "native:buffer", body_inputs, mode="async")
        assert r.status_code == 200, r.text
        return r.json()["data"]["JobId"]

    with ThreadPoolExecutor(25) as pool:
        ids = list(pool.map(submit, range(50)))
    assert len(set(ids)) == 50
    outputs = set()
    for job_id in ids:
        data = wait_status(two_nodes[0].url, job_id, {"succeeded", "failed"}, 120)
        assert data["status"] == "succeeded", data
        outputs.add(data["result"]["output"]["OUTPUT"])
        assert record(redis_server.url, job_id)["attempts"] == 1  # ran once, not twice
    assert len(outputs) == 50
    assert {record(redis_server.url, i)["node"] for i in ids} == {"node-x", "node-y"}


def test_a_job_survives_kill_9_of_its_node(two_nodes, redis_server):
    first = two_nodes[0]
    job_id = execute(first.url, "native:creategrid", GRID, mode="async").json()["data"]["JobId"]
    wait_status(first.url, job_id, {"running"}, 60)
    running_on = record(redis_server.url, job_id)["node"]
    victim, survivor = ((two_nodes[0], two_nodes[1]) if running_on == "node-x"
                        else (two_nodes[1], two_nodes[0]))
    victim.process.kill()  # kill -9 of the whole node: HTTP and QGIS workers
    data = wait_status(survivor.url, job_id, {"succeeded", "failed"}, 120)
    assert data["status"] == "succeeded", data
    final = record(redis_server.url, job_id)
    assert final["node"] == survivor.env["CLOUDGEO_WPS_NODE_ID"]
    assert final["attempts"] == 2  # the lost run, then the one that finished


def test_a_node_killed_and_started_again_at_once_finishes_its_job(
        state_root, file_s3, file_api, redis_server, catalog_path):
    """kill -9, then the same node id back before anyone saw it dead (its alive key is
    kept here, as a quick restart's first heartbeat would): no sweep can tell, so the
    node rescues its previous run's job at its start and runs it again."""
    node = start_wps_node(state_root, "node-z", file_s3, redis_server.url, file_api.url,
                          catalog_path, queue="restart")
    client = redis.Redis.from_url(redis_server.url)
    try:
        job_id = execute(node.url, "native:creategrid", GRID,
                         mode="async").json()["data"]["JobId"]
        wait_status(node.url, job_id, {"running"}, 60)
        node.process.kill()
        client.set(node_alive_key("node-z"), "1", ex=120)
        node.start(timeout=120)
        data = wait_status(node.url, job_id, {"succeeded", "failed"}, 120)
        assert data["status"] == "succeeded", data
        assert record(redis_server.url, job_id)["attempts"] == 2
    finally:
        node.stop()
