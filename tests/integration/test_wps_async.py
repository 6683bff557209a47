"""Async jobs: answered at once, polled from any node, progress fed live from QGIS."""

from __future__ import annotations

import time

import pytest
import requests
from owslib.wps import ASYNC, ComplexDataInput, WebProcessingService

from tests.conftest import start_wps_node
from tests.support.wps import download, execute, vector_summary

# About 1 million grid cells: several seconds of work with steady progress reports.
GRID = {"TYPE": 2, "EXTENT": "0,10000,0,10000 [EPSG:3857]", "HSPACING": 10, "VSPACING": 10,
        "CRS": "EPSG:3857"}


@pytest.fixture(scope="module")
def node_b(state_root, file_s3, file_api, redis_server, catalog_path, wps_node):
    """A second node on node-a's queue: any node answers for any job."""
    node = start_wps_node(state_root, "node-b", file_s3, redis_server.url, file_api.url,
                          catalog_path)
    yield node
    node.stop()


def test_async_job_polled_on_another_node_with_rising_progress(wps_node, node_b):
    started = time.monotonic()
    r = execute(wps_node.url, "native:creategrid", GRID, mode="async")
    assert r.status_code == 200
    assert time.monotonic() - started < 2  # answered at once, not after the work
    data = r.json()["data"]
    assert set(data) == {"JobId", "status", "result"} and data["result"] is None
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        polled = requests.get(f"{node_b.url}/job/{data['JobId']}", timeout=10)
        assert polled.headers["X-CloudGeo-Node"] == "node-b"
        status = polled.json()["data"]
        seen.append(int(status["percentCompleted"]))
        if status["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert status["status"] == "succeeded", status
    assert status["result"]["output"]["OUTPUT"].endswith(".gpkg")
    assert seen[-1] == 100
    between = [p for p in seen if 0 < p < 100]
    assert between, seen  # progress observed on its way, not only 0 then 100
    assert between == sorted(between)  # and it only rises


def test_wps10_async_execute_is_polled_on_another_node(wps_node, node_b, file_api):
    """OWSLib's asynchronous Execute (storeExecuteResponse + status) against node A; the
    statusLocation document is then read from node B until the job succeeded."""
    wps = WebProcessingService(f"{wps_node.url}/wps", skip_caps=True, timeout=60)
    started = time.monotonic()
    execution = wps.execute("native:creategrid", [(k, str(v)) for k, v in GRID.items()],
                            output=[("OUTPUT", True)], mode=ASYNC)
    assert time.monotonic() - started < 3  # answered at once, not after the work
    assert execution.status == "ProcessAccepted", execution.response
    job_id = execution.statusLocation.rsplit("/", 1)[-1]
    # The public address (here the file service stands in for the gateway).
    assert execution.statusLocation == f"{file_api.url}/api/wps/wps/status/{job_id}"
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while not execution.isComplete() and time.monotonic() < deadline:
        execution.checkStatus(url=f"{node_b.url}/wps/status/{job_id}", sleepSecs=0.2)
        seen.append(execution.percentCompleted)
    assert execution.isSucceeded(), execution.response
    (output,) = execution.processOutputs
    assert output.identifier == "OUTPUT" and output.reference.endswith(".gpkg")
    count, geometry, _ = vector_summary(download(output.reference))
    assert count == 1000 * 1000 and "Polygon" in geometry
    assert [p for p in seen if 0 < p < 100], seen  # progress on its way
    # The same job, seen through the JSON API.
    assert requests.get(f"{node_b.url}/jobs/{job_id}", timeout=10).json()["data"][
        "result"]["output"]["OUTPUT"] == output.reference


def test_wps10_status_of_failed_dismissed_and_unknown_jobs(wps_node, node_b, dead_port):
    wps = WebProcessingService(f"{wps_node.url}/wps", skip_caps=True, timeout=60)
    failing = wps.execute(
        "native:buffer",
        [("INPUT", ComplexDataInput(f"http://127.0.0.1:{dead_port}/gone.zip",
                                    mimeType="application/zip")), ("DISTANCE", "1")],
        output=[("OUTPUT", True)], mode=ASYNC)
    job_id = failing.statusLocation.rsplit("/", 1)[-1]
    deadline = time.monotonic() + 60
    while not failing.isComplete() and time.monotonic() < deadline:
        failing.checkStatus(url=f"{node_b.url}/wps/status/{job_id}", sleepSecs=0.2)
    assert failing.isComplete() and not failing.isSucceeded()
    assert "INPUT" in failing.errors[0].text  # names the input it could not fetch

    slow = wps.execute("native:creategrid", [(k, str(v)) for k, v in GRID.items()],
                       output=[("OUTPUT", True)], mode=ASYNC)
    slow_id = slow.statusLocation.rsplit("/", 1)[-1]
    assert requests.delete(f"{node_b.url}/jobs/{slow_id}", timeout=10).status_code == 200
    slow.checkStatus(url=f"{wps_node.url}/wps/status/{slow_id}", sleepSecs=0)
    assert slow.isComplete() and "dismissed" in slow.errors[0].text, (
        slow.status, requests.get(f"{wps_node.url}/jobs/{slow_id}", timeout=10).text)

    unknown = requests.get(f"{node_b.url}/wps/status/{'0' * 32}", timeout=10)
    assert unknown.status_code == 404
    assert 'locator="jobId"' in unknown.text and "ExceptionReport" in unknown.text
