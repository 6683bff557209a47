"""Each caller's cap on unfinished jobs, against a real Redis: counted across nodes,
taken atomically, and freed by jobs that end, are dismissed or expire."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from cloudgeo.wpsnode.jobs.quota import UNWRITTEN_GRACE, CallerQuota
from cloudgeo.wpsnode.jobs.store import PREFIX


@pytest.fixture
def client(redis_server):
    connection = redis.Redis.from_url(redis_server.url)
    yield connection
    connection.close()


def record(client: redis.Redis, job_id: str, status: str) -> None:
    client.hset(PREFIX + job_id, mapping={"status": json.dumps(status)})


def test_the_cap_counts_only_unfinished_jobs(client):
    quota, caller = CallerQuota(client, 2, 60), f"user:{uuid.uuid4().hex}"
    first, second, third = (uuid.uuid4().hex for _ in range(3))
    assert quota.take(caller, first) and quota.take(caller, second)
    record(client, first, "accepted")
    record(client, second, "running")
    assert not quota.take(caller, third)
    assert quota.unfinished(caller) == 2
    for status in ("succeeded", "failed", "dismissed"):
        record(client, second, status)
        assert quota.unfinished(caller) == 1  # a finished job frees its place
        record(client, second, "running")
    client.delete(PREFIX + first)  # expired or removed: freed too
    assert quota.take(caller, third)
    assert quota.unfinished(f"user:{uuid.uuid4().hex}") == 0  # callers apart


def test_a_place_whose_record_is_not_written_yet_is_kept_for_a_grace(client):
    quota, caller = CallerQuota(client, 1, 60), f"address:{uuid.uuid4().hex}"
    assert quota.take(caller, "not-written-yet")
    assert not quota.take(caller, "another")
    key = next(iter(client.scan_iter(f"*{caller}")))
    client.zadd(key, {"not-written-yet": time.time() - UNWRITTEN_GRACE - 1})
    assert quota.take(caller, "another")  # a submit that died before writing it


def test_concurrent_submits_never_pass_the_cap(client):
    quota, caller = CallerQuota(client, 5, 60), f"user:{uuid.uuid4().hex}"
    with ThreadPoolExecutor(16) as pool:
        taken = list(pool.map(lambda _: quota.take(caller, uuid.uuid4().hex), range(64)))
    assert sum(taken) == 5
