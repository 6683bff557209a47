"""Per-job limits and clean-up, on a real node of its own: a job past its scratch cap or
its output cap fails naming the cap, and no job leaves its folder behind, whether it
ends, is dismissed, or its worker or QGIS process is killed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import requests

from tests.conftest import start_wps_node
from tests.support.waiting import wait_for
from tests.support.wps import execute, ref

SCRATCH_CAP = 64 * 1024**2
CALLER_CAP = 2
OUTPUT_CAP = 20_000
# About 4 million grid cells: tens of seconds of work and far more than 64 MiB of output.
LONG_JOB = {"TYPE": 2, "EXTENT": "0,10000,0,10000 [EPSG:3857]", "HSPACING": 5,
            "VSPACING": 5, "CRS": "EPSG:3857"}
NODE = "node-limits"


@pytest.fixture(scope="module")
def limited_node(state_root, file_s3, file_api, redis_server, catalog_path):
    node = start_wps_node(state_root, NODE, file_s3, redis_server.url, file_api.url,
                          catalog_path, queue="limits", max_job_scratch=str(SCRATCH_CAP),
                          max_output_size=str(OUTPUT_CAP), qgis_workers="1",
                          max_jobs_per_caller=str(CALLER_CAP))
    yield node
    node.stop()


def job_folders(state_root: Path) -> list[Path]:
    return sorted((state_root / NODE / "workers").glob("*/jobs/*"))


def start_long_job(node) -> str:
    r = execute(node.url, "native:creategrid", LONG_JOB, mode="async")
    assert r.status_code == 200, r.text
    job_id = r.json()["data"]["JobId"]
    wait_for(lambda: requests.get(f"{node.url}/jobs/{job_id}", timeout=10)
             .json()["data"]["status"] == "running", 60, "the job to run")
    return job_id


def test_a_job_past_its_scratch_cap_is_stopped_and_fails_naming_it(limited_node, state_root,
                                                                  samples):
    r = execute(limited_node.url, "native:creategrid", LONG_JOB)
    assert r.status_code == 422, r.text
    message = r.json()["msg"]
    assert "CLOUDGEO_WPS_MAX_JOB_SCRATCH" in message and str(SCRATCH_CAP) in message
    assert job_folders(state_root) == []
    # The worker's QGIS process was stopped; the next job gets a fresh one.
    r = execute(limited_node.url, "native:centroids", {"INPUT": ref(samples["points"])},
                outputs={"OUTPUT": "geojson"})
    assert r.status_code == 200, r.text


def test_an_output_past_its_cap_fails_naming_it(limited_node, samples):
    r = execute(limited_node.url, "native:buffer", {"INPUT": ref(samples["points"]),
                                                    "DISTANCE": 10})
    assert r.status_code == 422, r.text
    message = r.json()["msg"]
    assert "CLOUDGEO_WPS_MAX_OUTPUT_SIZE" in message and "OUTPUT" in message
    assert str(OUTPUT_CAP) in message


def test_a_dismissed_jobs_folder_is_removed(limited_node, state_root):
    job_id = start_long_job(limited_node)
    wait_for(lambda: job_folders(state_root), 30, "the job's folder")
    assert requests.delete(f"{limited_node.url}/jobs/{job_id}", timeout=30).status_code == 200
    wait_for(lambda: not job_folders(state_root), 30, "the dismissed job's folder to go")


@pytest.mark.parametrize("victim", ["worker", "qgis"])
def test_a_killed_workers_folder_is_removed(limited_node, state_root, victim):
    job_id = start_long_job(limited_node)
    folder = wait_for(lambda: job_folders(state_root), 30, "the job's folder")[0]
    worker_folder = folder.parent.parent
    worker_pid = int(worker_folder.name)
    qgis_pid = int(wait_for(lambda: _child_of(worker_pid), 10, "the QGIS process"))
    os.kill(worker_pid if victim == "worker" else qgis_pid, signal.SIGKILL)
    wait_for(lambda: not worker_folder.exists(), 30, "the dead worker's folder to go")
    requests.delete(f"{limited_node.url}/jobs/{job_id}", timeout=30)
    wait_for(lambda: not job_folders(state_root), 30, "every job folder to go")


def _child_of(pid: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                return int(entry.name)
    return None


def test_a_caller_past_their_cap_gets_429_on_every_api(limited_node):
    """Two unfinished jobs are the cap here: the third gets 429 + Retry-After in each API's
    shape and is not queued; another caller (another address) is not affected; once a
    job ends, the caller may submit again."""
    jobs = [start_long_job(limited_node)]
    r = execute(limited_node.url, "native:creategrid", LONG_JOB, mode="async")
    assert r.status_code == 200, r.text
    jobs.append(r.json()["data"]["JobId"])
    r = execute(limited_node.url, "native:creategrid", LONG_JOB, mode="async")
    assert r.status_code == 429 and r.headers["Retry-After"], r.text
    assert r.json()["success"] is False and "CLOUDGEO_WPS_MAX_JOBS_PER_CALLER" in r.json()["msg"]
    ogc = requests.post(f"{limited_node.url}/ogcapi/processes/native:creategrid/execution",
                        json={"inputs": LONG_JOB}, timeout=30)
    assert ogc.status_code == 429 and ogc.headers["Retry-After"], ogc.text
    assert ogc.headers["Content-Type"].startswith("application/problem+json")
    assert "CLOUDGEO_WPS_MAX_JOBS_PER_CALLER" in ogc.json()["detail"]
    wps = requests.get(f"{limited_node.url}/wps", timeout=30, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "native:creategrid",
        "DataInputs": ";".join(f"{name}={value}" for name, value in LONG_JOB.items())})
    assert wps.status_code == 429 and wps.headers["Retry-After"], wps.text
    assert "ExceptionReport" in wps.text and "CLOUDGEO_WPS_MAX_JOBS_PER_CALLER" in wps.text
    # As the gateway names another client (the address is only a label: nothing is sent).
    other = requests.post(f"{limited_node.url}/jobs", timeout=30, headers={
        "X-Real-Ip": "192.0.2.7"}, json={"identifier": "native:creategrid", "mode": "async",
                                         "inputs": LONG_JOB})
    assert other.status_code == 200, other.text
    jobs.append(other.json()["data"]["JobId"])
    requests.delete(f"{limited_node.url}/jobs/{jobs[0]}", timeout=30)
    again = execute(limited_node.url, "native:creategrid", LONG_JOB, mode="async")
    assert again.status_code == 200, again.text
    jobs.append(again.json()["data"]["JobId"])
    for job_id in jobs:
        requests.delete(f"{limited_node.url}/jobs/{job_id}", timeout=30)
