"""JobStore.find's query logic (index sets, merges, duration buckets, pages, records
gone from under their index entries) on InMemoryRedis, a test double of the few Redis
commands it sends: milliseconds. tests/integration/test_joblist.py runs the same cases
on a real Redis, with records moved through the store's own transitions."""

from __future__ import annotations

import pytest

from cloudgeo.wpsnode.jobs.joblist import ALL_JOBS, DURATIONS, JobQuery
from cloudgeo.wpsnode.jobs.record import JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore
from tests.support.joblist_cases import NOW, QUERIES, oracle, random_jobs
from tests.support.memory_redis import InMemoryRedis


@pytest.fixture(scope="module")
def filled() -> tuple[JobStore, dict[str, JobRecord]]:
    store = JobStore(InMemoryRedis())
    records = {record.jobId: record for record in random_jobs(300)}
    store.create_many(list(records.values()))
    return store, records


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[9:60])
def test_every_filter_matches_the_oracle(filled, query):
    store, records = filled
    assert [r.jobId for r in store.find(query, now=NOW)] == oracle(records, query)


@pytest.mark.parametrize("statuses", [frozenset(), frozenset({"failed", "succeeded"})])
@pytest.mark.parametrize("timed", [False, True])
def test_pages_add_up_to_the_whole_list(filled, statuses, timed):
    store, records = filled
    extra = {"min_duration": 0.0} if timed else {}
    whole = JobQuery(statuses=statuses, limit=1000, **extra)
    pages, offset = [], 0
    while page := store.find(JobQuery(statuses=statuses, limit=13, offset=offset, **extra),
                             now=NOW):
        pages += [r.jobId for r in page]
        offset += 13
    assert pages == oracle(records, whole) and pages


def test_records_gone_from_under_their_index_entries_are_passed_over_and_dropped():
    store = JobStore(InMemoryRedis())
    records = {record.jobId: record for record in random_jobs(40, seed=5)}
    store.create_many(list(records.values()))
    finished = [job for job, r in sorted(records.items()) if r.finished is not None]
    gone = finished[:3]
    for job_id in gone:
        store.redis.delete(store.key(job_id))  # as Redis' TTL does
        del records[job_id]
    for query in (JobQuery(limit=1000), JobQuery(min_duration=0, limit=1000)):
        assert [r.jobId for r in store.find(query, now=NOW)] == oracle(records, query)
    for job_id in gone:  # the list dropped what it found missing
        assert store.redis.zscore(ALL_JOBS, job_id) is None
        assert store.redis.hget(DURATIONS, job_id) is None


def test_a_page_reads_only_its_own_records():
    """Without a duration filter the offset is passed over in Redis, unread: a page of
    10 deep in the list reads 10 records, not the 200 before them."""
    store = JobStore(InMemoryRedis())
    store.create_many(list(random_jobs(300)))
    reads: list[str] = []
    hgetall = store.redis.hgetall

    def counted(key: str) -> dict:
        reads.append(key)
        return hgetall(key)

    store.redis.hgetall = counted
    page = store.find(JobQuery(limit=10, offset=200), now=NOW)
    assert [r.jobId for r in page] == [f"job{i:04d}" for i in range(200, 210)]
    assert len(reads) == 10
