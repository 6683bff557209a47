"""The job list at scale: a Redis of its own filled with a million job records (through
JobStore.create_many, so with the same index entries the nodes make), then filtered,
paged lists through JobStore.find (the Redis indexes of jobs/joblist.py) and, side by
side, the way the list was made before: every job read newest first and filtered in
Python (the baseline, a few runs each: it reads up to every record).

    .venv/bin/python -m bench.joblist [--records 1000000] [--runs 200]

Prints p50/p99 per query, the ratio to the baseline, the memory per job record (the
record and its index entries) and a last line:
`joblist: p99 worst X ms (target < 50), baseline p50 Y× slower, Z bytes per job`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cloudgeo.localcluster.redis_server import RedisServer
from cloudgeo.wpsnode.jobs.joblist import ALL_JOBS, INDEX_KEYS, STATUSES, JobQuery
from cloudgeo.wpsnode.jobs.record import ACCEPTED, FINISHED, RUNNING, JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore, redis_client

PROCESSES = [f"native:alg{i:02d}" for i in range(49)] + ["native:buffer"]
OWNERS = [f"user{i:03d}" for i in range(100)]
# How often each status is seen in a busy service's store.
STATUS_WEIGHTS = {"succeeded": 80, "failed": 10, "dismissed": 4, "accepted": 4, "running": 2}
DAY = 86400.0
BASELINE_RUNS = 3
BASELINE_CAP = 30.0  # seconds: a baseline run stops there (reported as at least that)


def job(rng: random.Random, index: int, now: float) -> JobRecord:
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    created = now - index * (30 * DAY / 1_000_000)  # a month of jobs, newest first
    started = None if status == ACCEPTED else created + rng.uniform(0.01, 2)
    finished = started + rng.expovariate(1 / 20) if status in FINISHED else None
    process = rng.choice(PROCESSES)
    return JobRecord(
        jobId=f"{index:032x}", identifier=process, mode=rng.choice(["sync", "async"]),
        status=status, created=created, started=started, finished=finished,
        plan={"literals": {"DISTANCE": 25, "SEGMENTS": 8}, "references": {"INPUT": {
            "kind": "vector", "multiple": False,
            "items": [{"href": "http://gateway/api/file/retrieve/abc123.zip"}]}},
              "destinations": {"OUTPUT": "gpkg"}},
        inputs={"INPUT": {"type": "reference",
                          "href": "http://gateway/api/file/retrieve/abc123.zip"},
                "DISTANCE": 25},
        node="wps-1", worker="wps-1/4242", submittedTo="wps-1", queue="cloudgeo.jobs",
        percentCompleted=100 if status in FINISHED else (50 if status == RUNNING else 0),
        message="done" if status in FINISHED else "queued",
        output={"OUTPUT": "http://gateway/api/file/retrieve/def456.gpkg"}
        if status == "succeeded" else {},
        owner=rng.choice(OWNERS))


def fill(store: JobStore, count: int, now: float) -> None:
    rng = random.Random(42)
    batch = []
    for index in range(count):
        batch.append(job(rng, index, now))
        if len(batch) == 2000:
            store.create_many(batch)
            batch = []
    if batch:
        store.create_many(batch)


def queries(now: float) -> dict[str, Callable[[random.Random], JobQuery]]:
    """Name -> a query maker (varied per run: owner, process, page)."""
    return {
        "newest 100": lambda r: JobQuery(),
        "status=failed": lambda r: JobQuery(statuses=frozenset({"failed"})),
        "status=failed,dismissed": lambda r: JobQuery(
            statuses=frozenset({"failed", "dismissed"})),
        "processID+status": lambda r: JobQuery(process_ids=frozenset({r.choice(PROCESSES)}),
                                               statuses=frozenset({"succeeded"})),
        "owner (own jobs)": lambda r: JobQuery(owner=r.choice(OWNERS)),
        "owner+status=running": lambda r: JobQuery(owner=r.choice(OWNERS),
                                                   statuses=frozenset({"running"})),
        "datetime last day+status": lambda r: JobQuery(created_from=now - DAY,
                                                       statuses=frozenset({"failed"})),
        "minDuration=60+processID": lambda r: JobQuery(
            process_ids=frozenset({r.choice(PROCESSES)}), min_duration=60),
        "page 50 (offset 5000)": lambda r: JobQuery(statuses=frozenset({"succeeded"}),
                                                    offset=5000),
    }


def baseline(store: JobStore, query: JobQuery, now: float) -> tuple[float, bool]:
    """The old list: every job newest first, each read whole and filtered in Python."""
    started = time.perf_counter()
    found, skipped, start = 0, 0, 0
    while found < query.limit:
        if time.perf_counter() - started > BASELINE_CAP:
            return BASELINE_CAP, False
        ids = [m.decode() for m in store.redis.zrevrange(ALL_JOBS, start, start + 99)]
        if not ids:
            break
        for job_id in ids:
            record = store.get(job_id)
            if record is None or not query.accepts(vars(record), now):
                continue
            if skipped < query.offset:
                skipped += 1
            else:
                found += 1
                if found == query.limit:
                    break
        start += 100
    return time.perf_counter() - started, True


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cloudgeo-joblist-") as folder:
        server = RedisServer(Path(folder)).start()
        try:
            run(server.url, args.records, args.runs)
        finally:
            server.stop()


def run(url: str, records: int, runs: int) -> None:
    client = redis_client(url)
    store = JobStore(client)
    now = time.time()
    before = client.info("memory")["used_memory"]
    started = time.perf_counter()
    fill(store, records, now)
    filled = time.perf_counter() - started
    after = client.info("memory")["used_memory"]
    index_bytes = sum(client.memory_usage(key, samples=0) or 0
                      for key in client.smembers(INDEX_KEYS))
    per_job = (after - before) / records
    print(f"filled {records} job records in {filled:.0f} s; "
          f"{len(client.smembers(INDEX_KEYS))} index sets")
    print(f"memory per job: {per_job:.0f} bytes ({index_bytes / records:.0f} of them "
          f"index entries)")
    statuses = {s: client.zcard(f"cloudgeo:jobs:ix:*:{s}:*") for s in STATUSES}
    print(f"statuses: {statuses}")
    rng = random.Random(7)
    print(f"{'query':28} {'jobs':>5} {'p50 ms':>8} {'p99 ms':>8} {'baseline ms':>12} "
          f"{'ratio':>7}")
    worst, ratios = 0.0, []
    for name, make in queries(now).items():
        times, sizes = [], []
        for _ in range(runs):
            query = make(rng)
            t0 = time.perf_counter()
            sizes.append(len(store.find(query, now=now)))
            times.append(time.perf_counter() - t0)
        base = [baseline(store, make(rng), now) for _ in range(BASELINE_RUNS)]
        base_p50 = statistics.median(t for t, _ in base)
        capped = "" if all(done for _, done in base) else ">"
        p50, p99 = statistics.median(times), percentile(times, 0.99)
        worst = max(worst, p99)
        ratios.append(base_p50 / p50)
        print(f"{name:28} {statistics.median(sizes):5.0f} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} "
              f"{capped}{base_p50 * 1e3:11.0f} {base_p50 / p50:6.0f}×")
    print(f"joblist: p99 worst {worst * 1e3:.1f} ms (target < 50), baseline p50 "
          f"{statistics.median(ratios):.0f}× slower, {per_job:.0f} bytes per job")


if __name__ == "__main__":
    main()
