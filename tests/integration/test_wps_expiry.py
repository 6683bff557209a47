"""Results expire: the job record and, through the nodes' sweeper, its output files."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

from tests.conftest import start_wps_node
from tests.integration.test_wps_workers import wait_for
from tests.support.wps import execute, ref

RESULT_TTL = 3


@pytest.fixture(scope="module")
def short_memory_node(state_root, file_s3, file_api, redis_server, catalog_path):
    node = start_wps_node(state_root, "node-expiry", file_s3, redis_server.url, file_api.url,
                          catalog_path, queue="expiry", result_ttl=str(RESULT_TTL))
    yield node
    node.stop()


def test_records_and_output_files_expire(short_memory_node, samples):
    url = short_memory_node.url
    data = execute(url, "native:buffer", {"INPUT": ref(samples["points"])}).json()["data"]
    completed, expires = (datetime.strptime(data[k], "%Y-%m-%d %H:%M:%S.%f")
                          for k in ("completionTime", "expirationTime"))
    assert (expires - completed).total_seconds() == pytest.approx(RESULT_TTL, abs=0.01)
    link = data["output"]["OUTPUT"]
    assert requests.get(link, timeout=10).status_code == 200
    wait_for(lambda: requests.get(f"{url}/jobs/{data['jobId']}", timeout=5).status_code == 404,
             RESULT_TTL + 5, "the record to expire")
    # The sweeper runs every 5 s in each node's Celery main process.
    wait_for(lambda: requests.get(link, timeout=5).status_code == 404, 15,
             "the output file to be removed")
