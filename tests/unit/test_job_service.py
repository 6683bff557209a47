"""JobService's own logic (admission, ownership, dismissal, the job list, pure reads)
against in-memory fakes of its ports (tests/support/job_fakes.py): no Redis, Celery
or S3, milliseconds."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.caller import CURRENT, Caller
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.jobs.deadline import DEADLINE_GRACE, overdue
from cloudgeo.wpsnode.jobs.joblist import JobQuery
from cloudgeo.wpsnode.jobs.record import JobRecord
from cloudgeo.wpsnode.jobs.service import JobService
from cloudgeo.wpsnode.settings import WpsSettings
from tests.support.job_fakes import (
    FakeJobRecords,
    FakeObjectSink,
    FakeQueue,
    FakeQuota,
    FakeRescuer,
)

PROCESS = {
    "id": "test:buffer", "title": "Buffer", "provider": "test", "providerName": "Test",
    "group": "Vector",
    "inputs": [{"name": "INPUT", "title": "Input", "type": "source", "dataType": "vector",
                "optional": False, "advanced": False, "default": None},
               {"name": "DISTANCE", "title": "Distance", "type": "distance",
                "dataType": "number", "optional": True, "advanced": False, "default": 1}],
    "destinations": [{"name": "OUTPUT", "title": "Output", "type": "sink",
                      "dataType": "vectorOutput", "optional": False, "advanced": False,
                      "default": None, "formats": ["gpkg", "geojson"]}],
}
LAYER = "http://127.0.0.1:9000/api/file/retrieve/abc.zip"
OUTPUT = "http://127.0.0.1:9000/api/file/retrieve/out1.gpkg"


class Ports:
    def __init__(self, waiting: int = 0, cap: int = 100) -> None:
        self.jobs, self.queue, self.objects = FakeJobRecords(), FakeQueue(waiting), \
            FakeObjectSink("out1")
        self.quota, self.watchdog = FakeQuota(cap), FakeRescuer()


def service(ports: Ports, **env: str) -> JobService:
    """`env`: further CLOUDGEO_WPS_* settings by their lower-case suffix."""
    settings = WpsSettings.from_env({
        "CLOUDGEO_WPS_STATE_DIR": "/nonexistent/state", "CLOUDGEO_WPS_NODE_ID": "node-t",
        "CLOUDGEO_WPS_MAX_QUEUED": "3",
        **{f"CLOUDGEO_WPS_{name.upper()}": value for name, value in env.items()}})
    return JobService(settings, Catalog("3.40", {PROCESS["id"]: PROCESS}), jobs=ports.jobs,
                      queue=ports.queue, objects=ports.objects, quota=ports.quota,
                      watchdog=ports.watchdog)


@contextmanager
def calling_as(caller: Caller) -> Iterator[None]:
    token = CURRENT.set(caller)
    try:
        yield
    finally:
        CURRENT.reset(token)


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
    with calling_as(Caller("alice", address="10.0.0.1")):
        record = service(ports, user_header="X-User").submit(
            PROCESS["id"], {"INPUT": LAYER, "DISTANCE": 2}, mode="async")
    assert ports.jobs.get(record.jobId) == record
    assert (record.status, record.owner, record.submittedTo, record.queue, record.mode) == (
        "accepted", "alice", "node-t", "cloudgeo.jobs", "async")
    assert record.plan["literals"] == {"DISTANCE": 2.0}
    assert record.plan["destinations"] == {"OUTPUT": "gpkg"}
    assert [r.jobId for r in ports.queue.submitted] == [record.jobId]
    assert ports.quota.places == {"user:alice": [record.jobId]}


def test_a_refused_submit_leaves_nothing_behind():
    full = Ports(waiting=3)
    with pytest.raises(ApiError) as info:
        service(full).submit(PROCESS["id"], {"INPUT": LAYER})
    assert info.value.status == 503 and info.value.headers["Retry-After"] == "10"

    capped = Ports(cap=0)
    with pytest.raises(ApiError) as info:
        service(capped).submit(PROCESS["id"], {"INPUT": LAYER})
    assert info.value.status == 429

    hostile = Ports()
    with pytest.raises(InputError) as bad:
        service(hostile).submit(PROCESS["id"], {"INPUT": "http://169.254.169.254/x.zip"})
    assert bad.value.field == "INPUT"

    for ports in (full, capped, hostile):
        assert ports.jobs.records == {} and ports.queue.submitted == []
    assert full.quota.places == hostile.quota.places == {}


def test_reads_change_nothing_even_for_an_overdue_job():
    ports = Ports()
    jobs = service(ports)
    overdue_job(ports)
    writes = ports.jobs.writes
    assert jobs.get("late").status == "running"
    assert jobs.visible("late").status == "running"
    assert jobs.require("late").status == "running"
    assert [r.status for r in jobs.list_jobs(JobQuery())] == ["running"]
    assert jobs.job_log("late") == ""
    assert ports.jobs.writes == writes
    assert ports.watchdog.checked == [] and ports.queue.submitted == []


def test_another_callers_job_is_unknown_to_a_user_but_not_to_an_admin():
    ports = Ports()
    jobs = service(ports, user_header="X-User")
    stored(ports, "a1", "accepted", owner="alice")
    with calling_as(Caller("bob")):
        assert jobs.visible("a1") is None
        with pytest.raises(ApiError) as info:
            jobs.require("a1")
        assert info.value.status == 404 and "'a1'" in info.value.message
    with calling_as(Caller("root", admin=True)):
        assert jobs.require("a1").owner == "alice"
    with calling_as(Caller("alice")):
        assert jobs.require("a1").owner == "alice"


def test_the_job_list_is_the_callers_own_unless_admin_or_anonymous():
    ports = Ports()
    jobs = service(ports, user_header="X-User")
    now = time.time()
    for index, owner in enumerate(["alice", "bob", "alice"]):
        stored(ports, f"j{index}", "accepted", owner=owner, created=now - index)

    def listed(caller: Caller, query: JobQuery | None = None) -> list[str]:
        with calling_as(caller):
            return [r.jobId for r in jobs.list_jobs(query or JobQuery())]

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

    assert jobs.dismiss("queued").status == "dismissed"
    assert ports.queue.stopped == []  # nothing runs it yet
    assert jobs.dismiss("busy").status == "dismissed"
    assert ports.queue.stopped == ["busy"]  # its worker is stopped
    assert ports.jobs.get("busy").message == "dismissed by request"

    assert jobs.dismiss("done").status == "dismissed"
    assert ports.jobs.get("done") is None and ports.objects.keys == set()
    assert jobs.dismiss("done") is None and jobs.dismiss("never") is None


def test_dismissing_an_overdue_job_removes_it_as_a_finished_one():
    ports = Ports()
    overdue_job(ports)
    assert service(ports).dismiss("late").status == "dismissed"
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
