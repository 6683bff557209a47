"""The job-list cases both the unit test (InMemoryRedis) and the integration test (a
real Redis) run JobStore.find on: random jobs, queries over every filter, and the oracle,
the same filter applied to every record in Python."""

from __future__ import annotations

import random
from collections.abc import Iterator

from cloudgeo.wpsnode.jobs.joblist import STATUSES, JobQuery
from cloudgeo.wpsnode.jobs.record import ACCEPTED, FINISHED, JobRecord

PROCESSES = ["native:buffer", "native:centroids", "gdal:warpreproject"]
OWNERS = [None, "alice", "bob"]
NOW = 1_800_000_000.0


def random_jobs(count: int, seed: int = 3) -> Iterator[JobRecord]:
    """Jobs as they end up, one a minute back from NOW, of random process, owner,
    status and duration."""
    rng = random.Random(seed)
    for index in range(count):
        record = JobRecord(jobId=f"job{index:04d}", identifier=rng.choice(PROCESSES),
                           mode="async", status=ACCEPTED, created=NOW - index * 60.0,
                           plan={}, owner=rng.choice(OWNERS))
        record.status = rng.choice(STATUSES)
        if record.status != ACCEPTED:
            record.started = record.created + rng.uniform(0, 5)
            if record.status in FINISHED:
                record.finished = record.started + rng.choice([0.5, 3, 30, 400])
        yield record


def oracle(records: dict[str, JobRecord], query: JobQuery) -> list[str]:
    kept = [r for r in records.values()
            if query.accepts({"status": r.status, "identifier": r.identifier,
                              "owner": r.owner, "created": r.created, "started": r.started,
                              "finished": r.finished}, NOW)]
    kept.sort(key=lambda r: r.created, reverse=True)
    return [r.jobId for r in kept[query.offset:query.offset + query.limit]]


QUERIES = [
    JobQuery(),
    JobQuery(statuses=frozenset({"failed"})),
    JobQuery(statuses=frozenset({"failed", "dismissed"}), limit=7),
    JobQuery(process_ids=frozenset({"native:buffer"}), statuses=frozenset({"succeeded"})),
    JobQuery(process_ids=frozenset({"native:buffer", "gdal:warpreproject"}), offset=5,
             limit=10),
    JobQuery(owner="alice"),
    JobQuery(owner="bob", statuses=frozenset({"running"})),
    JobQuery(created_from=NOW - 3600, created_to=NOW - 600),
    JobQuery(min_duration=10),
    JobQuery(max_duration=1, statuses=frozenset({"succeeded"})),
    JobQuery(min_duration=2, max_duration=60, owner="alice", offset=3, limit=4),
    JobQuery(process_ids=frozenset({""})),  # a type other than process: nothing
    # Duration buckets: whole ones, boundary ones, unfinished jobs beside them.
    JobQuery(min_duration=60, process_ids=frozenset({"native:buffer"})),
    JobQuery(min_duration=0, max_duration=0.5),
    JobQuery(max_duration=5, statuses=frozenset({"accepted", "running", "failed"})),
    JobQuery(min_duration=2.5, statuses=frozenset({"running"}), owner="bob"),
    JobQuery(min_duration=1, max_duration=400, statuses=frozenset({"succeeded", "dismissed"}),
             offset=7, limit=5),
    JobQuery(min_duration=35, max_duration=399),  # inside buckets, touching no job's value
]
