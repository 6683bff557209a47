"""The job list on Redis indexes (jobs/joblist.py, JobStore.find) against a real Redis:
every filter and page checked against the same filter applied to every record in
Python (the oracle), through status changes, removals and expired records."""

from __future__ import annotations

import time

import pytest

from cloudgeo.wpsnode.jobs.joblist import DURATIONS, JobQuery
from cloudgeo.wpsnode.jobs.record import ACCEPTED, FINISHED, JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore, redis_client
from tests.support.joblist_cases import NOW, QUERIES, oracle, random_jobs


@pytest.fixture
def store(redis_server):
    client = redis_client(redis_server.url.rsplit("/", 1)[0] + "/7")  # a database of its own
    client.flushdb()
    yield JobStore(client)
    client.flushdb()


def fill(store: JobStore, count: int, seed: int = 3) -> dict[str, JobRecord]:
    records = {}
    for record in random_jobs(count, seed):
        store.create(JobRecord(jobId=record.jobId, identifier=record.identifier,
                               mode=record.mode, status=ACCEPTED, created=record.created,
                               plan={}, owner=record.owner))
        if record.status != ACCEPTED:  # through the store's own transitions
            store.update(record.jobId, status="running", started=record.started)
            if record.status in FINISHED:
                store.update(record.jobId, status=record.status, finished=record.finished)
        records[record.jobId] = record
    return records


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[9:60])
def test_every_filter_matches_the_oracle(store, query):
    records = fill(store, 300)
    assert [r.jobId for r in store.find(query, now=NOW)] == oracle(records, query)


def test_pages_add_up_to_the_whole_list_and_changes_show_at_once(store):
    records = fill(store, 120)
    failed = JobQuery(statuses=frozenset({"failed"}), limit=1000)
    pages, offset = [], 0
    while page := store.find(JobQuery(statuses=frozenset({"failed"}), limit=9,
                                      offset=offset), now=NOW):
        pages += [r.jobId for r in page]
        offset += 9
    assert pages == oracle(records, failed) and pages
    # A job that becomes dismissed leaves the failed list and joins the dismissed one.
    moved = pages[0]
    store.update(moved, status="dismissed")
    records[moved].status = "dismissed"
    assert moved not in [r.jobId for r in store.find(failed, now=NOW)]
    dismissed = JobQuery(statuses=frozenset({"dismissed"}), limit=1000)
    assert [r.jobId for r in store.find(dismissed, now=NOW)] == oracle(records, dismissed)
    # So does it in the duration-bucket sets.
    for statuses in ({"failed"}, {"dismissed"}):
        timed = JobQuery(statuses=frozenset(statuses), min_duration=0, limit=1000)
        assert [r.jobId for r in store.find(timed, now=NOW)] == oracle(records, timed)
    assert not [key for key in store.redis.keys("cloudgeo:jobs:dx*:failed:*")
                if store.redis.zscore(key, moved) is not None]


def test_removed_and_expired_records_leave_the_lists(store):
    records = fill(store, 60)
    gone, expired = [job for job, r in sorted(records.items()) if r.status in FINISHED
                     and r.finished is not None][:2]
    assert store.redis.hget(DURATIONS, expired) is not None
    store.remove(gone)
    store.redis.delete(store.key(expired))  # as Redis' TTL does
    for name in (gone, expired):
        records.pop(name)
    query = JobQuery(limit=1000)
    assert [r.jobId for r in store.find(query, now=NOW)] == oracle(records, query)
    # The expired record's index entries went as the list read past them.
    assert store.redis.zscore("cloudgeo:jobs:index", expired) is None
    assert not [key for pattern in ("cloudgeo:jobs:ix:*", "cloudgeo:jobs:dx*")
                for key in store.redis.keys(pattern) if store.redis.zscore(key, gone) is not None]
    assert store.redis.hget(DURATIONS, gone) is None
    # A duration filter meets the expired one's duration too, and drops it.
    store.find(JobQuery(min_duration=0, limit=1000), now=NOW)
    assert store.redis.hget(DURATIONS, expired) is None


def test_trimming_drops_entries_older_than_any_record_lives(store):
    fill(store, 10)
    store.trim_indexes(time.time() + 10 * 365 * 86400)
    assert store.find(JobQuery(limit=100), now=NOW) == []
    assert all(store.redis.zcard(key) == 0 for key in store.redis.smembers(
        "cloudgeo:jobs:index-keys"))
    assert store.redis.hlen(DURATIONS) == 0


def test_a_field_update_sets_a_live_record_and_never_brings_back_a_gone_one(store):
    records = fill(store, 4)
    live, gone = sorted(records)[:2]
    store.remove(gone)
    store.update(live, queuedOn="wps-2", percentCompleted=40)
    store.update(gone, queuedOn="wps-2", percentCompleted=40)
    record = store.get(live)
    assert (record.queuedOn, record.percentCompleted) == ("wps-2", 40)
    assert store.get(gone) is None and not store.redis.exists(store.key(gone))
