"""Dismissing jobs: queued ones never run, running ones free their worker, finished ones
are removed with their output files."""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import start_wps_node
from tests.integration.test_wps_workers import LONG_JOB, job, running_worker_pid, wait_for
from tests.support.wps import execute, ref


@pytest.fixture(scope="module")
def single_worker_node(state_root, file_s3, file_api, redis_server, catalog_path):
    node = start_wps_node(state_root, "node-dismiss", file_s3, redis_server.url, file_api.url,
                          catalog_path, queue="dismiss", qgis_workers="1")
    yield node
    node.stop()


def dismiss(node_url: str, job_id: str) -> requests.Response:
    return requests.delete(f"{node_url}/jobs/{job_id}", timeout=30)


def test_dismiss_running_and_queued_jobs(single_worker_node, samples, redis_server):
    url = single_worker_node.url
    running = execute(url, "native:creategrid", LONG_JOB, mode="async").json()["data"]["JobId"]
    queued = execute(url, "native:creategrid", LONG_JOB, mode="async").json()["data"]["JobId"]
    running_worker_pid(url, running, redis_server.url)
    assert job(url, queued)["status"] == "accepted"

    r = dismiss(url, queued)
    assert r.status_code == 200 and r.json()["data"]["status"] == "dismissed"
    started = time.monotonic()
    r = dismiss(url, running)
    assert r.status_code == 200 and r.json()["data"]["status"] == "dismissed"
    # The only worker is freed: a quick job completes long before the grid would have.
    quick = execute(url, "native:buffer", {"INPUT": ref(samples["points"])})
    assert quick.status_code == 200, quick.text
    assert time.monotonic() - started < 20
    assert job(url, running)["status"] == "dismissed"
    assert job(url, queued)["status"] == "dismissed"  # and it never ran
    assert job(url, queued)["percentCompleted"] == "0"


def test_dismiss_a_finished_job_removes_it_and_its_files(single_worker_node, samples):
    url = single_worker_node.url
    done = execute(url, "native:buffer", {"INPUT": ref(samples["points"])}).json()["data"]
    link = done["output"]["OUTPUT"]
    assert requests.get(link, timeout=10).status_code == 200
    assert dismiss(url, done["jobId"]).status_code == 200
    assert requests.get(f"{url}/jobs/{done['jobId']}", timeout=10).status_code == 404
    wait_for(lambda: requests.get(link, timeout=10).status_code == 404, 10, "file removal")
    assert dismiss(url, done["jobId"]).status_code == 404
