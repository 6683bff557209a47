"""Finds jobs left behind by a node that died, and queues them again (or fails them).

A node's Celery main process requeues the job of a QGIS worker that crashes; when
the whole node dies nothing does, and Redis would give its unacknowledged messages
back only after the broker's visibility timeout (longer than any job may run).
So whoever looks at a job (a sync waiter, a status request) checks that the node
holding it is alive, and rescues the job once, under a Redis lock, if it is not.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from cloudgeo.wpsnode.jobs.record import ACCEPTED, FAILED, RUNNING, JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore
from cloudgeo.wpsnode.worker_keys import node_alive_key

RESCUE_LOCK_SECONDS = 60


def holder(record: JobRecord) -> str:
    """The node answerable for a job now, or '' if none is."""
    if record.status == RUNNING:
        return record.node
    if record.status == ACCEPTED:
        return record.queuedOn
    return ""


def orphaned(record: JobRecord, node_alive: Callable[[str], bool]) -> bool:
    node = holder(record)
    return bool(node) and not node_alive(node)


class Watchdog:
    def __init__(self, client: redis.Redis, jobs: JobStore, max_attempts: int,
                 resubmit: Callable[[JobRecord], None]) -> None:
        self.client, self.jobs = client, jobs
        self.max_attempts, self.resubmit = max_attempts, resubmit

    def node_alive(self, node_id: str) -> bool:
        return bool(self.client.exists(node_alive_key(node_id)))

    def check(self, record: JobRecord) -> JobRecord:
        if not orphaned(record, self.node_alive):
            return record
        lock = f"{self.jobs.key(record.jobId)}:rescue:{record.attempts}:{record.status}"
        if not self.client.set(lock, "1", nx=True, ex=RESCUE_LOCK_SECONDS):
            return record  # another node is rescuing it
        lost = holder(record)
        if record.status == RUNNING and record.attempts >= self.max_attempts:
            self.jobs.finish(record.jobId, status=FAILED, failure="crashed",
                             message=f"node {lost} died while running the job, "
                                     f"{record.attempts} time(s); it is not retried again")
        else:
            self.jobs.update(record.jobId, status=ACCEPTED, queuedOn="", worker="",
                             message=f"queued again: node {lost} died")
            refreshed = self.jobs.get(record.jobId) or record
            self.resubmit(refreshed)
        return self.jobs.get(record.jobId) or record
