"""Finds jobs left behind by a node that died, and queues them again (or fails them).

A node's Celery main process requeues the job of a QGIS worker that crashes; when
the whole node dies nothing does, and Redis would give its unacknowledged messages
back only after the broker's visibility timeout (longer than any job may run).
So every node's sweeper (every few seconds) and a sync waiter check that the node
holding a job is alive, and rescue the job once, under a Redis lock, if it is not.
The sweeper also fails a running job past its deadline whose worker died silently.
A status request or a job list only reads: it never rescues nor fails a job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import redis

from cloudgeo.wpsnode.jobs.keys import node_alive_key
from cloudgeo.wpsnode.jobs.record import ACCEPTED, FAILED, FINISHED, RUNNING, JobRecord
from cloudgeo.wpsnode.jobs.store import JobStore

RESCUE_LOCK_SECONDS = 60
# A consumer notes that it holds a job within milliseconds of taking it from the
# queue; a job neither queued nor held by anyone for this long was taken by a
# consumer that died in between.
UNCLAIMED_GRACE = 10.0


def holder(record: JobRecord) -> str:
    """The node answerable for a job now, or '' if none is."""
    if record.status == RUNNING:
        return record.node
    if record.status == ACCEPTED:
        return record.queuedOn
    return ""


def orphaned(record: JobRecord, node_alive: Callable[[str], bool],
             still_queued: Callable[[JobRecord], bool], now: float) -> bool:
    node = holder(record)
    if node:
        return not node_alive(node)
    return (record.status == ACCEPTED and now - record.created > UNCLAIMED_GRACE
            and not still_queued(record))


class Watchdog:
    def __init__(self, client: redis.Redis, jobs: JobStore, max_attempts: int,
                 resubmit: Callable[[JobRecord], None], queue: str) -> None:
        # Nodes of several queues may share one Redis, and each sweeps every job: a
        # rescued job goes back to the queue its record names (`queue` is only the
        # fallback for records written before they named one).
        self.client, self.jobs = client, jobs
        self.max_attempts, self.resubmit, self.queue = max_attempts, resubmit, queue

    def node_alive(self, node_id: str) -> bool:
        return bool(self.client.exists(node_alive_key(node_id)))

    def still_queued(self, record: JobRecord) -> bool:
        """Whether the job's message still waits in its broker queue (a Redis list)."""
        needle = record.jobId.encode()
        messages = self.client.lrange(record.queue or self.queue, 0, -1)
        return any(needle in message for message in messages)

    def check(self, record: JobRecord) -> JobRecord:
        if not orphaned(record, self.node_alive, self.still_queued, time.time()):
            return record
        return self.rescue(record)

    def rescue(self, record: JobRecord) -> JobRecord:
        """Queues an orphaned job again (or fails it past its attempts), once across
        every node that finds it."""
        lock = f"{self.jobs.key(record.jobId)}:rescue:{record.attempts}:{record.status}"
        if not self.client.set(lock, "1", nx=True, ex=RESCUE_LOCK_SECONDS):
            return record  # another node is rescuing it
        lost = holder(record) or "unknown"
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

    def rescue_left_by(self, node_id: str) -> int:
        """At a node's start, before it takes any job: every unfinished job its id still
        holds was held by its previous run, dead whatever the alive key says. (A node
        started again under the same id before a sweep saw its key expire looks alive to
        the others, and its jobs would wait for their time limit.) Returns how many
        were rescued."""
        rescued = 0
        for record in self.unfinished_records():
            if holder(record) != node_id:
                continue
            if record.status == ACCEPTED and self.still_queued(record):
                # Given back to the queue by a clean shutdown: it only needs a new holder.
                self.jobs.update(record.jobId, queuedOn="")
                continue
            self.rescue(record)
            rescued += 1
        return rescued

    def sweep(self) -> int:
        """Checks every unfinished job once (nobody may be waiting for it); returns how
        many were rescued."""
        rescued = 0
        for record in self.unfinished_records():
            checked = self.check(record)
            rescued += checked.status != record.status or checked.message != record.message
        return rescued

    def unfinished_records(self) -> Iterator[JobRecord]:
        """The records of the jobs listed as unfinished, those past their deadline failed
        first; the listing forgets the rest (expired, or finished since)."""
        for job_id in self.jobs.unfinished():
            record = self.jobs.get(job_id)
            if record is not None:
                record = self.jobs.fail_overdue(record)
            if record is None or record.status in FINISHED:
                self.jobs.forget_unfinished(job_id)
                continue
            yield record
