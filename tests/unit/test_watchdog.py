"""Which jobs count as left behind by a dead node (pure rule)."""

from __future__ import annotations

from cloudgeo.wpsnode.jobs.record import JobRecord
from cloudgeo.wpsnode.jobs.watchdog import UNCLAIMED_GRACE, orphaned


def record(status: str, **fields) -> JobRecord:
    return JobRecord(jobId="j1", identifier="native:buffer", mode="sync", status=status,
                     created=1000.0, plan={}, **fields)


def alive(*nodes):
    return lambda node: node in nodes


def never_queued(_job_id):
    return False


def test_running_on_a_dead_node():
    assert orphaned(record("running", node="n1"), alive("n2"), never_queued, 1001)
    assert not orphaned(record("running", node="n1"), alive("n1"), never_queued, 1001)


def test_held_in_a_dead_nodes_prefetch():
    assert orphaned(record("accepted", queuedOn="n1"), alive(), never_queued, 1001)
    assert not orphaned(record("accepted", queuedOn="n1"), alive("n1"), never_queued, 1001)


def test_unclaimed_and_not_in_the_queue_after_the_grace():
    job = record("accepted")
    assert not orphaned(job, alive(), never_queued, 1000 + UNCLAIMED_GRACE - 1)
    assert orphaned(job, alive(), never_queued, 1000 + UNCLAIMED_GRACE + 1)
    assert not orphaned(job, alive(), lambda _: True, 1000 + UNCLAIMED_GRACE + 1)


def test_finished_jobs_are_never_orphans():
    for status in ("succeeded", "failed", "dismissed"):
        assert not orphaned(record(status, node="n1", queuedOn="n1"), alive(), never_queued,
                            5000)
