"""Async jobs: answered at once, polled from any node, progress fed live from QGIS."""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import start_wps_node
from tests.support.wps import execute

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
