"""Soak: 500 mixed jobs through the gateway of a 3-node cluster, while one node is killed
(-9) and started again and the file service is restarted.

Sync and async, over the seed's JSON API, WPS 1.0.0 and OGC API - Processes, on a
small input and a 1 MB one. Every job must end exactly once with the right output
(a buffer of every input point), no request may answer 5xx except 503 with
Retry-After: the documented "queue full", and the gateway's answer for a request in
flight on the killed node (it never resends what it delivered; the client sends it
again, as docs/api.md says, and the job store shows every accepted job succeeded).
Each service's memory must stay within 20 % between the first and the last hundred
jobs (for the restarted node, from a hundred jobs after its restart: a QGIS worker
grows as it warms up). The figures are printed.

Outputs are downloaded and checked after the run: while the only file service
restarts, the gateway has no file server for a moment, and that is not what the
job APIs are tested for here.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from cloudgeo.localcluster.cluster import ClusterState
from cloudgeo.samples import point_shapefile_zip
from cloudgeo.wpsnode.jobs.joblist import JobQuery
from cloudgeo.wpsnode.jobs.record import SUCCEEDED, JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore, redis_client
from tests.support.cluster import start_cluster, upload
from tests.support.wps import download, vector_summary

JOBS = 500
CLIENTS = 12
KILL_NODE_AT, RESTART_FILES_AT = 150, 250  # jobs finished when each happens
MEMORY_DRIFT = 0.20
APIS = ("json", "wps", "ogc")
SMALL, LARGE = 50, 8000  # points: a 4 kB zip and a 1 MB one
POLL_SECONDS, JOB_TIMEOUT = 0.25, 600
VICTIM = "wps-node-2"
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Outcome:
    index: int
    kind: str
    points: int
    job_id: str = ""
    output: str = ""
    problems: list[str] = field(default_factory=list)


def group_rss(pgid: int) -> int:
    """Resident bytes of every process in a process group (a component and its children)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                total += int((entry / "statm").read_text().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
    return total


class Soak:
    def __init__(self, gateway: str, links: dict[int, str]) -> None:
        self.gateway, self.links = gateway, links
        self.statuses: Counter[int] = Counter()
        self.finished = 0
        self.resubmitted = 0
        self.lock = threading.Lock()

    # -- HTTP, as docs/api.md tells a client to behave --------------------------
    def call(self, outcome: Outcome, method: str, url: str, submits: bool = False,
             **kwargs) -> requests.Response:
        """503 + Retry-After (the queue is full, or the server holding the request died
        and the gateway answered for it): wait and send again. A submission sent again
        may have created a job the first time: counted, for the exactly-once check."""
        for _ in range(20):
            r = requests.request(method, url, timeout=JOB_TIMEOUT, **kwargs)
            with self.lock:
                self.statuses[r.status_code] += 1
            if r.status_code == 503 and "Retry-After" in r.headers:
                with self.lock:
                    self.resubmitted += submits
                time.sleep(float(r.headers["Retry-After"]))
                continue
            if r.status_code >= 500:
                outcome.problems.append(f"{method} {url}: HTTP {r.status_code} {r.text[:200]}")
            return r
        outcome.problems.append(f"{method} {url}: still 503 after 20 tries")
        return r

    def poll(self, outcome: Outcome, url: str, done) -> requests.Response:
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline:
            r = self.call(outcome, "GET", url)
            if r.status_code >= 400 or done(r):
                return r
            time.sleep(POLL_SECONDS)
        outcome.problems.append(f"{url} never finished")
        return r

    # -- one job per API and mode ----------------------------------------------
    def run(self, index: int) -> Outcome:
        api, mode = APIS[index % 3], ("sync", "async")[index // 3 % 2]
        points = LARGE if index % 10 == 9 else SMALL
        outcome = Outcome(index, f"{api} {mode}", points)
        try:
            getattr(self, api)(outcome, self.links[points], mode)
        except requests.RequestException as exc:
            outcome.problems.append(f"{type(exc).__name__}: {exc}")
        if not outcome.output and not outcome.problems:
            outcome.problems.append("no output")
        with self.lock:
            self.finished += 1
        return outcome

    def json(self, outcome: Outcome, href: str, mode: str) -> None:
        body = {"identifier": "native:buffer", "mode": mode, "inputs": {
            "INPUT": {"type": "reference", "href": href}, "DISTANCE": 5, "SEGMENTS": 2}}
        r = self.call(outcome, "POST", f"{self.gateway}/api/wps/jobs", submits=True,
                      json=body)
        data = r.json().get("data") or {}
        outcome.job_id = data.get("jobId") or data.get("JobId") or ""
        if mode == "async" and outcome.job_id:
            r = self.poll(outcome, f"{self.gateway}/api/wps/jobs/{outcome.job_id}",
                          lambda r: r.json()["data"]["status"] in ("succeeded", "failed"))
            data = r.json().get("data") or {}
            data = {**data, **(data.get("result") or {})}
        if data.get("status") == "succeeded":
            outcome.output = data["output"]["OUTPUT"]
        else:
            outcome.problems.append(f"json: {r.status_code} {r.text[:200]}")

    def wps(self, outcome: Outcome, href: str, mode: str) -> None:
        params = {"service": "WPS", "version": "1.0.0", "request": "Execute",
                  "identifier": "native:buffer",
                  "DataInputs": f"INPUT=@xlink:href={href};DISTANCE=5;SEGMENTS=2",
                  "ResponseDocument": "OUTPUT=@asReference=true"}
        if mode == "async":
            params.update(storeExecuteResponse="true", status="true")
        r = self.call(outcome, "GET", f"{self.gateway}/api/wps/wps", submits=True,
                      params=params)
        location = re.search(r'statusLocation="([^"]+)"', r.text)
        if mode == "async" and location:
            outcome.job_id = location.group(1).rsplit("/", 1)[-1]
            r = self.poll(outcome, location.group(1).replace("&amp;", "&"),
                          lambda r: b"ProcessSucceeded" in r.content
                          or b"ProcessFailed" in r.content)
        reference = re.search(r'<wps:Reference href="([^"]+)"', r.text)
        if b"ProcessSucceeded" in r.content and reference:
            outcome.output = reference.group(1).replace("&amp;", "&")
        else:
            outcome.problems.append(f"wps: {r.status_code} {r.text[:300]}")

    def ogc(self, outcome: Outcome, href: str, mode: str) -> None:
        url = f"{self.gateway}/api/wps/ogcapi/processes/native:buffer/execution"
        headers = {"Prefer": "respond-async"} if mode == "async" else {}
        r = self.call(outcome, "POST", url, submits=True, headers=headers, json={"inputs": {
            "INPUT": {"href": href}, "DISTANCE": 5, "SEGMENTS": 2}})
        location = r.headers.get("Location", "")
        outcome.job_id = location.rsplit("/", 1)[-1]
        if mode == "async" and r.status_code == 201:
            self.poll(outcome, location,
                      lambda r: r.json()["status"] in ("successful", "failed", "dismissed"))
            r = self.call(outcome, "GET", f"{location}/results")
        if r.status_code == 200 and "href" in r.json().get("OUTPUT", {}):
            outcome.output = r.json()["OUTPUT"]["href"]
        else:
            outcome.problems.append(f"ogc: {r.status_code} {r.text[:200]}")


def settled_jobs(local, timeout: float = 180) -> list[JobRecord]:
    """Every job record in the cluster's Redis, once none is unfinished."""
    redis_url = next(c.health for c in ClusterState.load(local.dir).components
                     if c.name == "redis")
    store = JobStore(redis_client(redis_url))
    deadline = time.monotonic() + timeout
    while store.unfinished() and time.monotonic() < deadline:
        time.sleep(1)
    return store.find(JobQuery(limit=10 * JOBS))


@pytest.fixture(scope="module")
def soak_cluster(state_root, catalog_path):
    local, state = start_cluster(state_root, catalog_path, "soak", nodes=3)
    yield local, state
    local.down()


def test_soak_500_mixed_jobs_through_a_node_kill_and_a_file_service_restart(
        soak_cluster, state_root):
    local, state = soak_cluster
    folder = state_root / "soak-data"
    links = {n: upload(state.gateway_url, point_shapefile_zip(folder, count=n, name=f"p{n}"))
             for n in (SMALL, LARGE)}
    soak = Soak(state.gateway_url, links)
    memory: dict[str, dict[str, int]] = {}
    events: list[str] = []

    def components() -> dict[str, int]:
        current = ClusterState.load(local.dir)
        return {c.name: c.pid for c in current.components
                if c.name not in ("redis", "seaweedfs")}  # storage keeps data: not flat

    def sample(step: str) -> None:
        memory[step] = {name: group_rss(pid) for name, pid in components().items()}
        memory[step + " pids"] = components()

    def at(count: int, step: str, action) -> None:
        """Waits for `count` finished jobs, then acts; each step on its own thread, so a
        slow restart does not hold back the steps after it."""
        while soak.finished < count:
            time.sleep(0.1)
        started, finished = time.monotonic(), soak.finished
        action()
        events.append(f"{step} at {finished} jobs, took {time.monotonic() - started:.1f} s "
                      f"(until {soak.finished} jobs)")

    def kill_node() -> None:
        os.killpg(components()[VICTIM], signal.SIGKILL)
        time.sleep(1)
        local.restart(VICTIM)
        sample("restarted " + VICTIM)
        # Its baseline: warm, a hundred jobs on, as "first" is for the others.
        restarted_at = soak.finished
        while soak.finished < min(restarted_at + 100, JOBS):
            time.sleep(0.1)
        sample(f"warm {VICTIM}")

    def restart_files() -> None:
        local.restart("file-service")
        sample("restarted file-service")

    steps = [(100, "first", lambda: sample("first")),
             (KILL_NODE_AT, "kill", kill_node),
             (RESTART_FILES_AT, "files", restart_files),
             (JOBS - 100, "last-but-100", lambda: sample("last-but-100"))]
    watchers = [threading.Thread(target=at, args=step, daemon=True) for step in steps]
    for watcher in watchers:
        watcher.start()
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(soak.run, range(JOBS)))
    wall = time.monotonic() - started
    for watcher in watchers:
        watcher.join(90)
    sample("end")

    # Every output is its own file and holds a buffer of every input point.
    failed = [o for o in outcomes if o.problems]
    outputs = Counter(o.output for o in outcomes if o.output)
    wrong = []
    for outcome in outcomes:
        if outcome.output and not outcome.problems:
            features = vector_summary(download(outcome.output))[0]
            if features != outcome.points:
                wrong.append((outcome.index, outcome.kind, features, outcome.points))

    print(f"\nsoak: {JOBS} jobs, {CLIENTS} clients, {wall:.0f} s ({JOBS / wall:.1f} jobs/s); "
          f"HTTP statuses {dict(sorted(soak.statuses.items()))}")
    print("soak: " + "; ".join(events))
    print(f"{'component':14s} {'first 100 MiB':>14s} {'restart MiB':>12s} "
          f"{'last 100 MiB':>13s} {'end MiB':>8s}")
    for name in memory["end"]:
        row = [memory.get(step, {}).get(name, 0) / 2**20
               for step in ("first", f"restarted {name}", "last-but-100", "end")]
        print(f"{name:14s} {row[0]:14.0f} {row[1]:12.0f} {row[2]:13.0f} {row[3]:8.0f}")
    for outcome in failed[:10]:
        print(f"  job {outcome.index} ({outcome.kind}): {outcome.problems[:2]}")

    assert not [w for w in watchers if w.is_alive()] and len(events) == 4, events
    assert not failed, f"{len(failed)} of {JOBS} jobs failed"
    assert len(outputs) == JOBS and max(outputs.values()) == 1  # each its own output
    assert not wrong, wrong
    # 5xx: only 503, always with Retry-After (a 503 without it is a job's problem above).
    assert not [s for s in soak.statuses if s >= 500 and s != 503], soak.statuses
    # Exactly once, seen from the job store: every job accepted, including those whose
    # caller got the gateway's 503 for a lost request, ended, and succeeded.
    records = settled_jobs(local)
    print(f"soak: {len(records)} jobs in the store, {soak.resubmitted} submissions sent "
          f"again after a 503")
    assert Counter(r.status for r in records) == {SUCCEEDED: len(records)}
    assert JOBS <= len(records) <= JOBS + soak.resubmitted
    # Flat memory: from the first hundred jobs for what ran throughout; for what was
    # restarted, from the moment its restart returned.
    for name, end in memory["end"].items():
        baseline_step = "first" if memory["first pids"][name] == memory["end pids"][name] \
            else f"warm {name}" if f"warm {name}" in memory else f"restarted {name}"
        baseline = memory[baseline_step][name]
        assert abs(end - baseline) <= MEMORY_DRIFT * baseline, (name, baseline_step,
                                                                 baseline, end)
