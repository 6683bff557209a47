"""The sweeper rescues jobs a dead node left behind, once, against a real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from cloudgeo.wpsnode.jobs.joblist import JobQuery, index_key
from cloudgeo.wpsnode.jobs.keys import node_alive_key
from cloudgeo.wpsnode.jobs.record import JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore
from cloudgeo.wpsnode.jobs.watchdog import UNCLAIMED_GRACE, Watchdog


@pytest.fixture
def database(redis_server) -> Iterator[Callable[[int], redis.Redis]]:
    """Clients on databases of the test's own (the session's nodes keep their jobs in
    database 0), each emptied when made and again after the test, failed or not."""
    made: list[redis.Redis] = []

    def client(number: int) -> redis.Redis:
        made.append(redis.Redis.from_url(f"{redis_server.url.rsplit('/', 1)[0]}/{number}"))
        made[-1].flushdb()
        return made[-1]

    yield client
    for each in made:
        each.flushdb()


def test_sweep_rescues_orphans_once_and_fails_repeat_offenders(database):
    client = database(7)
    jobs = JobStore(client)
    resubmitted: list[str] = []
    queues: dict[str, str] = {}

    def resubmit(record: JobRecord) -> None:
        resubmitted.append(record.jobId)
        queues[record.jobId] = record.queue

    watchdogs = [Watchdog(client, jobs, 2, resubmit, "sweep-q")
                 for _ in range(2)]  # two nodes sweeping at once
    client.set(node_alive_key("alive-node"), "1", ex=30)
    now = time.time()

    def job(job_id: str, **fields) -> str:
        jobs.create(JobRecord(jobId=job_id, identifier="native:buffer", mode="sync",
                              created=fields.pop("created", now), plan={}, **fields))
        return job_id

    # Sent to another cluster's queue in the same Redis: it goes back there.
    running_dead = job("sw-1", status="running", node="dead-node", attempts=1,
                       queue="their-q")
    held_dead = job("sw-2", status="accepted", queuedOn="dead-node")
    healthy = job("sw-3", status="running", node="alive-node", attempts=1)
    last_try = job("sw-4", status="running", node="dead-node", attempts=2)
    lost = job("sw-5", status="accepted", created=now - UNCLAIMED_GRACE - 1)
    queued = job("sw-6", status="accepted", created=now - UNCLAIMED_GRACE - 1)
    client.rpush("sweep-q", b'{"headers": {"argsrepr": "[\'sw-6\']"}}')
    queued_elsewhere = job("sw-7", status="accepted", created=now - UNCLAIMED_GRACE - 1,
                           queue="their-q")
    client.rpush("their-q", b'{"headers": {"argsrepr": "[\'sw-7\']"}}')

    for watchdog in watchdogs:
        watchdog.sweep()

    assert sorted(resubmitted) == sorted([running_dead, held_dead, lost])
    assert queues[running_dead] == "their-q"
    assert jobs.get(queued_elsewhere).status == "accepted"
    assert "queued again" not in jobs.get(queued_elsewhere).message
    assert jobs.get(running_dead).status == "accepted"
    assert "dead-node died" in jobs.get(running_dead).message
    assert jobs.get(healthy).status == "running"
    assert jobs.get(queued).status == "accepted"
    failed = jobs.get(last_try)
    assert failed.status == "failed" and failed.failure == "crashed"
    assert last_try not in jobs.unfinished()


def test_a_node_started_again_takes_back_what_its_previous_run_held(database):
    """A node killed and started again under its id before any sweep saw its alive key
    expire looks alive: sweeps leave its jobs alone. At its start it rescues them."""
    client = database(7)
    jobs = JobStore(client)
    resubmitted: list[str] = []
    watchdog = Watchdog(client, jobs, 2, lambda record: resubmitted.append(record.jobId),
                        "restart-q")
    for node in ("node-a", "node-b"):
        client.set(node_alive_key(node), "1", ex=30)

    def job(job_id: str, **fields) -> str:
        jobs.create(JobRecord(jobId=job_id, identifier="native:buffer", mode="sync",
                              created=time.time(), plan={}, **fields))
        return job_id

    running = job("pr-1", status="running", node="node-a", attempts=1)
    held = job("pr-2", status="accepted", queuedOn="node-a")
    given_back = job("pr-3", status="accepted", queuedOn="node-a")
    client.rpush("restart-q", b'{"headers": {"argsrepr": "[\'pr-3\']"}}')
    others = job("pr-4", status="running", node="node-b", attempts=1)
    last_try = job("pr-5", status="running", node="node-a", attempts=2)

    assert watchdog.sweep() == 0 and resubmitted == []  # node-a looks alive
    assert watchdog.rescue_left_by("node-a") == 3
    assert sorted(resubmitted) == [running, held]
    assert jobs.get(running).status == "accepted"
    assert "node-a died" in jobs.get(running).message
    # Given back to the queue by a clean shutdown: not queued a second time.
    assert jobs.get(given_back).status == "accepted" and jobs.get(given_back).queuedOn == ""
    assert jobs.get(others).status == "running"
    assert jobs.get(last_try).status == "failed"
    assert watchdog.rescue_left_by("node-a") == 0  # once


def test_a_job_dismissed_as_its_worker_starts_it_stays_dismissed(database):
    """The worker reads an accepted job, the caller dismisses it, then the worker writes
    `running`: dismissed is the end, so the record stays dismissed (it became running
    again, and its status never said dismissed; seen in the suite under load)."""
    client = database(8)
    jobs = JobStore(client)
    jobs.create(JobRecord(jobId="race-1", identifier="native:buffer", mode="async",
                          status="accepted", created=time.time(), plan={}))
    assert jobs.get("race-1").status == "accepted"  # what the worker read
    jobs.finish("race-1", status="dismissed", message="dismissed by request")
    jobs.update("race-1", status="running", started=time.time(), node="late-node")
    jobs.finish("race-1", status="succeeded", message="finished anyway")
    record = jobs.get("race-1")
    assert (record.status, record.message, record.node) == (
        "dismissed", "dismissed by request", "")


def test_a_dismissal_between_a_status_changes_read_and_write_wins(database):
    """The worker's `running` reads the record (accepted), the caller's dismissal lands,
    then the worker's write goes out: the record is watched between the two, so the
    write is refused and decided again on what is there now (without WATCH it wrote
    `running` over `dismissed`: the read-then-write window of a status change)."""
    client = database(9)
    worker, caller = JobStore(client), JobStore(database(9))
    worker.create(JobRecord(jobId="race-2", identifier="native:buffer", mode="async",
                            status="accepted", created=time.time(), plan={}))
    reads: list[str] = []
    read = worker._fields

    def dismissed_right_after_the_read(job_id, *names, client=None):
        fields = read(job_id, *names, client=client)
        reads.append(fields[4])
        if len(reads) == 1:
            caller.finish(job_id, status="dismissed", message="dismissed by request")
        return fields

    worker._fields = dismissed_right_after_the_read
    worker.update("race-2", status="running", started=time.time(), node="late-node")
    record = caller.get("race-2")
    assert (record.status, record.message, record.node) == (
        "dismissed", "dismissed by request", "")
    assert reads == ["accepted", "dismissed"]  # read again after the conflict
    assert client.zscore(index_key(None, "running", None), "race-2") is None


def test_reading_an_overdue_job_changes_nothing_and_the_sweep_fails_it(database):
    """A running job past its deadline (and grace) whose worker went silent, on a node
    that still lives: reads (the record, the job list) report it as stored; the sweep
    fails it for its time limit."""
    client = database(10)
    jobs = JobStore(client)
    resubmitted: list[str] = []
    watchdog = Watchdog(client, jobs, 2, lambda record: resubmitted.append(record.jobId),
                        "deadline-q")
    client.set(node_alive_key("alive-node"), "1", ex=30)
    now = time.time()
    jobs.create(JobRecord(jobId="late-1", identifier="native:buffer", mode="async",
                          status="running", created=now - 100, started=now - 90,
                          deadline=now - 90 + 10, timeLimit=10, node="alive-node",
                          attempts=1, plan={}))

    assert jobs.get("late-1").status == "running"
    assert [r.status for r in jobs.find(JobQuery(statuses=frozenset({"running"})))] == [
        "running"]
    assert jobs.get("late-1").status == "running"  # still: nothing was written

    watchdog.sweep()
    failed = jobs.get("late-1")
    assert (failed.status, failed.failure) == ("failed", "timeout")
    assert "time limit of 10 s" in failed.message
    assert "late-1" not in jobs.unfinished() and resubmitted == []
