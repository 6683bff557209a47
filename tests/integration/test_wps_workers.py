"""QGIS worker pool resilience: crashes, time limits and recycling, on a node of its own."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import start_wps_node
from tests.support.waiting import wait_for
from tests.support.wps import execute, ref

TIME_LIMIT = 8
# About 4 million grid cells: tens of seconds of work on this machine.
LONG_JOB = {"TYPE": 2, "EXTENT": "0,10000,0,10000 [EPSG:3857]", "HSPACING": 5,
            "VSPACING": 5, "CRS": "EPSG:3857"}


@pytest.fixture(scope="module")
def fragile_node(state_root, file_s3, file_api, redis_server, catalog_path):
    """Its own queue, so its jobs run on its workers under its limits, not node-a's."""
    node = start_wps_node(state_root, "node-fragile", file_s3, redis_server.url, file_api.url,
                          catalog_path, queue="fragile", max_attempts="1",
                          job_time_limit=str(TIME_LIMIT), max_jobs_per_worker="3")
    yield node
    node.stop()


def metric(node_url: str, name: str) -> float:
    text = requests.get(f"{node_url}/metrics", timeout=10).text
    match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def job(node_url: str, job_id: str) -> dict:
    return requests.get(f"{node_url}/jobs/{job_id}", timeout=10).json()["data"]


def running_worker_pid(node_url: str, job_id: str, redis_url: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)

    def pid():
        if job(node_url, job_id)["status"] != "running":
            return None
        worker = client.hget(f"cloudgeo:job:{job_id}", "worker")
        return int(worker.decode().strip('"').rsplit("/", 1)[1]) if worker else None

    return wait_for(pid, 30, "the long job to start")


def test_a_crashed_worker_fails_only_its_own_job(fragile_node, samples, redis_server):
    starts_before = metric(fragile_node.url, "cloudgeo_wps_worker_starts_total")
    r = execute(fragile_node.url, "native:creategrid", LONG_JOB, mode="async")
    long_id = r.json()["data"]["JobId"]
    pid = running_worker_pid(fragile_node.url, long_id, redis_server.url)
    # A quick job runs meanwhile on the other worker, and is unaffected.
    quick: dict = {}
    thread = threading.Thread(target=lambda: quick.update(
        response=execute(fragile_node.url, "native:buffer", {"INPUT": ref(samples["points"])})))
    thread.start()
    os.kill(pid, signal.SIGSEGV)  # as a segfault in QGIS would
    thread.join(60)
    assert quick["response"].status_code == 200, quick["response"].text
    final = wait_for(lambda: (lambda d: d if d["status"] == "failed" else None)(
        job(fragile_node.url, long_id)), 30, "the crashed job to fail")
    assert "died" in final["message"]
    # The pool heals: a new worker replaces the dead one, and the node keeps serving.
    wait_for(lambda: requests.get(f"{fragile_node.url}/health", timeout=5)
             .json()["data"]["qgisWorkers"] == 2, 30, "the pool to be whole again")
    assert metric(fragile_node.url, "cloudgeo_wps_worker_starts_total") > starts_before
    r = execute(fragile_node.url, "native:buffer", {"INPUT": ref(samples["points"])})
    assert r.status_code == 200


def test_time_limit_fails_the_job_and_replaces_the_worker(fragile_node, samples, state_root):
    started = time.monotonic()
    r = execute(fragile_node.url, "native:creategrid", LONG_JOB)
    elapsed = time.monotonic() - started
    assert r.status_code == 504, r.text
    assert f"time limit of {TIME_LIMIT} s" in r.json()["msg"]
    assert elapsed < TIME_LIMIT + 10
    # The killed worker's folder (the job's scratch with it) goes with its replacement.
    job_id = r.json()["data"]["jobId"]
    wait_for(lambda: not list((state_root / "node-fragile" / "workers").glob(
        f"*/jobs/{job_id}")), 30, "the timed-out job's folder to go")
    r = execute(fragile_node.url, "native:buffer", {"INPUT": ref(samples["points"])})
    assert r.status_code == 200


def qgis_processes(worker_pids) -> set[int]:
    """The QGIS processes of these Celery workers (their children)."""
    found = set()
    for pid in worker_pids:
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            found |= {int(child) for child in children}
    return found


def test_qgis_is_renewed_after_n_jobs_without_replacing_the_worker(fragile_node, samples,
                                                                   redis_server):
    import redis

    from cloudgeo.wpsnode.jobs.pool import live_workers

    client = redis.Redis.from_url(redis_server.url)
    wait_for(lambda: len(live_workers(client, "node-fragile")) == 2, 30, "two workers")
    workers = set(live_workers(client, "node-fragile"))
    first = qgis_processes(workers)
    before = metric(fragile_node.url, "cloudgeo_wps_worker_starts_total")
    # 3 jobs per QGIS process: a spare starts after the first and takes over between two
    # jobs once it is ready (QGIS takes a few seconds to start; jobs go on meanwhile).

    def renewed() -> set[int]:
        r = execute(fragile_node.url, "native:buffer", {"INPUT": ref(samples["points"])})
        assert r.status_code == 200, r.text
        return first - qgis_processes(workers)

    wait_for(renewed, 90, "a QGIS process to be renewed")
    assert metric(fragile_node.url, "cloudgeo_wps_worker_starts_total") > before
    # Renewed inside the same Celery workers: no job waited for a worker to start.
    assert set(live_workers(client, "node-fragile")) == workers
    text = requests.get(f"{fragile_node.url}/metrics", timeout=10).text
    assert 'cloudgeo_wps_jobs_total{process="native:buffer",status="succeeded"}' in text
    assert "cloudgeo_wps_job_duration_seconds_bucket" in text
    assert re.search(r'cloudgeo_wps_workers\{node="node-fragile",state="idle"\}', text)
    assert "cloudgeo_wps_worker_restarts_total" in text


def test_a_replacement_worker_short_of_cpu_is_waited_for_not_killed(fragile_node,
                                                                   redis_server):
    """A pool process says it is up once its QGIS process has started. Held to a tenth of
    a CPU (a busy machine, a pod's CPU limit) that takes far longer than Celery's default
    4 s, which killed every replacement before it was up, in a loop: the node's pool
    never healed. The replacement is waited for: the only process the pool forks."""
    import redis

    from cloudgeo.wpsnode.jobs.pool import live_workers
    from tests.support.cpu_quota import cpu_quota

    client = redis.Redis.from_url(redis_server.url)
    workers = wait_for(lambda: (lambda w: w if len(w) == 2 else None)(
        live_workers(client, "node-fragile")), 60, "two workers")
    victim = min(workers)
    pool = int(Path(f"/proc/{victim}/stat").read_text().rsplit(")", 1)[1].split()[1])
    forked: set[int] = set()  # every pool process seen while the replacement comes up

    def replaced() -> bool:
        forked.update(int(pid) for pid in Path(f"/proc/{pool}/task/{pool}/children")
                      .read_text().split())
        now = live_workers(client, "node-fragile")
        return len(now) == 2 and victim not in now

    with cpu_quota(pool, percent=10):  # the replacement is forked by the pool, into it
        os.kill(victim, signal.SIGKILL)
        wait_for(replaced, 240, "the replacement worker, short of CPU, to come up",
                 interval=0.2)
    assert len(forked - set(workers)) == 1, forked  # one replacement, never killed
