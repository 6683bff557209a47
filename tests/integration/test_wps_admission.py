"""A full job queue refuses new work with 503 and Retry-After instead of growing."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import start_wps_node
from tests.integration.test_wps_workers import LONG_JOB
from tests.support.wps import execute, ref


@pytest.fixture(scope="module")
def busy_node(state_root, file_s3, file_api, redis_server, catalog_path):
    """One QGIS worker, a queue of its own holding at most 2 waiting jobs, short jobs only."""
    node = start_wps_node(state_root, "node-busy", file_s3, redis_server.url, file_api.url,
                          catalog_path, queue="admission", qgis_workers="1", max_queued="2",
                          job_time_limit="5")
    yield node
    node.stop()
    import redis

    redis.Redis.from_url(redis_server.url).delete("admission")


def test_queue_cap_answers_503_and_keeps_serving_status(busy_node, samples):
    answers = [execute(busy_node.url, "native:creategrid", LONG_JOB, mode="async")
               for _ in range(8)]
    accepted = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code == 503]
    assert len(accepted) >= 2 and refused, [r.status_code for r in answers]
    body = refused[0].json()
    assert body["success"] is False and "queue is full" in body["msg"]
    assert refused[0].headers["Retry-After"] == "10"
    # Accepted jobs stay queryable; refused ones left no record behind.
    job_id = accepted[-1].json()["data"]["JobId"]
    assert requests.get(f"{busy_node.url}/jobs/{job_id}", timeout=10).status_code == 200
    sync = execute(busy_node.url, "native:buffer", {"INPUT": ref(samples["points"])})
    assert sync.status_code == 503  # the same cap applies to sync calls


def test_queue_cap_in_wps_1_0_0(busy_node, samples):
    statuses = []
    for _ in range(20):  # fill the queue up to its cap
        statuses.append(execute(busy_node.url, "native:creategrid", LONG_JOB,
                                mode="async").status_code)
        if statuses[-1] == 503:
            break
    assert statuses[-1] == 503, statuses
    r = requests.get(f"{busy_node.url}/wps", timeout=30, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "native:buffer", "DataInputs": f"INPUT=@xlink:href={samples['points']}"})
    assert b'exceptionCode="ServerBusy"' in r.content, r.text[:500]
    assert b"queue is full" in r.content
