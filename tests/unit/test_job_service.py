"""JobService's own logic (admission, ownership, dismissal, the job list, pure reads)
against in-memory fakes of its ports (tests/support/job_fakes.py): no Redis, Celery
or S3, milliseconds."""

from __future__ import annotations

import dataclasses
import time

import pytest

from cloudgeo.wpsnode.caller import ANONYMOUS, Caller
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.jobs.deadline import DEADLINE_GRACE, overdue
from cloudgeo.wpsnode.jobs.errors import CallerAtCap, JobNotFound, QueueFull
from cloudgeo.wpsnode.jobs.execute import ExecuteRequest
from cloudgeo.wpsnode.jobs.joblist import JobQuery
from cloudgeo.wpsnode.jobs.record import JobRecord
from tests.support.job_fakes import LAYER, OUTPUT, PROCESS, Ports, service


def execute(inputs: dict, **fields) -> ExecuteRequest:
    return ExecuteRequest(PROCESS["id"], inputs, **fields)


def stored(ports: Ports, job_id: str, status: str, **fields) -> JobRecord:
    record = JobRecord(jobId=job_id, identifier=PROCESS["id"], mode="async", status=status,
                       created=fields.pop("created", time.time()), plan={}, **fields)
    ports.jobs.create(record)
    return record


def overdue_job(ports: Ports, job_id: str = "late") -> JobRecord:
    started = time.time() - 100
    return stored(ports, job_id, "running", started=started, timeLimit=10,
                  deadline=started + 10, node="node-t", attempts=1)


def test_submit_creates_queues_and_takes_a_place():
    ports = Ports()
    record = service(ports, user_header="X-User").submit(
        execute({"INPUT": LAYER, "DISTANCE": 2}, mode="async"),
        Caller("alice", address="10.0.0.1"))
    assert ports.jobs.get(record.jobId) == record
    assert (record.status, record.owner, record.submittedTo, record.queue, record.mode) == (
        "accepted", "alice", "node-t", "cloudgeo.jobs", "async")
    assert record.plan["literals"] == {"DISTANCE": 2.0}
    assert record.plan["destinations"] == {"OUTPUT": "gpkg"}
    assert [r.jobId for r in ports.queue.submitted] == [record.jobId]
    assert ports.quota.places == {"user:alice": [record.jobId]}


def test_a_refused_submit_leaves_nothing_behind():
    full = Ports(waiting=3)
    with pytest.raises(QueueFull) as info:
        service(full).submit(execute({"INPUT": LAYER}), ANONYMOUS)
    assert (info.value.waiting, info.value.limit, info.value.retry_after) == (3, 3, 10)
    assert info.value.message == ("the job queue is full (3 jobs waiting, limit 3); "
                                  "try again later")

    capped = Ports(cap=0)
    with pytest.raises(CallerAtCap) as info:
        service(capped).submit(execute({"INPUT": LAYER}), ANONYMOUS)  # the place is refused
    assert info.value.retry_after == 10 and "you have 100 jobs queued" in info.value.message

    hostile = Ports()
    with pytest.raises(InputError) as bad:
        service(hostile).submit(execute({"INPUT": "http://169.254.169.254/x.zip"}), ANONYMOUS)
    assert bad.value.field == "INPUT"

    for ports in (full, capped, hostile):
        assert ports.jobs.records == {} and ports.queue.submitted == []
    assert full.quota.places == hostile.quota.places == {}


def test_reads_change_nothing_even_for_an_overdue_job():
    ports = Ports()
    jobs = service(ports)
    overdue_job(ports)
    writes = ports.jobs.writes
    assert jobs.visible("late", ANONYMOUS).status == "running"
    assert jobs.get("late", ANONYMOUS).status == "running"
    assert [r.status for r in jobs.list_jobs(JobQuery(), ANONYMOUS)] == ["running"]
    assert jobs.job_log("late", ANONYMOUS) == ""
    assert ports.jobs.writes == writes
    assert ports.watchdog.checked == [] and ports.queue.submitted == []


def test_another_callers_job_is_unknown_to_a_user_but_not_to_an_admin():
    ports = Ports()
    jobs = service(ports, user_header="X-User")
    stored(ports, "a1", "accepted", owner="alice")
    bob = Caller("bob")
    assert jobs.visible("a1", bob) is None
    for read in (jobs.get, jobs.job_log, jobs.dismiss):
        with pytest.raises(JobNotFound) as info:
            read("a1", bob)
        assert info.value.message == "no job 'a1' (unknown, or its results expired)"
        assert info.value.field == "jobId"
    assert ports.jobs.get("a1").status == "accepted"  # bob's dismiss changed nothing
    assert jobs.get("a1", Caller("root", admin=True)).owner == "alice"
    assert jobs.get("a1", Caller("alice")).owner == "alice"
    assert jobs.dismiss("a1", Caller("alice")).status == "dismissed"


def test_the_job_list_is_the_callers_own_unless_admin_or_anonymous():
    ports = Ports()
    jobs = service(ports, user_header="X-User")
    now = time.time()
    for index, owner in enumerate(["alice", "bob", "alice"]):
        stored(ports, f"j{index}", "accepted", owner=owner, created=now - index)

    def listed(caller: Caller, query: JobQuery | None = None) -> list[str]:
        return [r.jobId for r in jobs.list_jobs(query or JobQuery(), caller)]

    assert listed(Caller("alice")) == ["j0", "j2"]
    assert listed(Caller("alice"), JobQuery(owner="bob")) == ["j0", "j2"]  # not widened
    assert listed(Caller("root", admin=True)) == ["j0", "j1", "j2"]
    assert listed(Caller(None)) == ["j0", "j1", "j2"]
    assert listed(Caller("root", admin=True), JobQuery(limit=1, offset=1)) == ["j1"]


def test_dismiss_cancels_unfinished_jobs_and_removes_finished_ones():
    ports = Ports()
    jobs = service(ports)
    stored(ports, "queued", "accepted")
    stored(ports, "busy", "running", node="node-t")
    stored(ports, "done", "succeeded", output={"OUTPUT": OUTPUT})

    assert jobs.dismiss("queued", ANONYMOUS).status == "dismissed"
    assert ports.queue.stopped == []  # nothing runs it yet
    assert jobs.dismiss("busy", ANONYMOUS).status == "dismissed"
    assert ports.queue.stopped == ["busy"]  # its worker is stopped
    assert ports.jobs.get("busy").message == "dismissed by request"

    assert jobs.dismiss("done", ANONYMOUS).status == "dismissed"
    assert ports.jobs.get("done") is None and ports.objects.keys == set()
    for gone in ("done", "never"):
        with pytest.raises(JobNotFound):
            jobs.dismiss(gone, ANONYMOUS)


def test_dismissing_an_overdue_job_removes_it_as_a_finished_one():
    ports = Ports()
    overdue_job(ports)
    assert service(ports).dismiss("late", ANONYMOUS).status == "dismissed"
    assert ports.jobs.get("late") is None and ports.queue.stopped == []


def test_the_sync_waiter_fails_its_overdue_job_and_asks_the_watchdog():
    ports = Ports()
    record = overdue_job(ports)
    final = service(ports).wait(record)
    assert (final.status, final.failure) == ("failed", "timeout")
    assert "time limit of 10 s" in final.message
    assert ports.watchdog.checked == ["late"]


def test_only_a_running_job_past_its_deadline_and_grace_is_overdue():
    job = JobRecord(jobId="j", identifier=PROCESS["id"], mode="sync", status="running",
                    created=0.0, plan={}, deadline=100.0)
    assert not overdue(job, 100 + DEADLINE_GRACE)
    assert overdue(job, 100 + DEADLINE_GRACE + 0.1)
    assert not overdue(dataclasses.replace(job, status="accepted"), 1e9)
    assert not overdue(dataclasses.replace(job, deadline=None), 1e9)
