"""The JobQueue port over the Celery queue (jobs/queue.py) and its Redis broker."""

from __future__ import annotations

from types import ModuleType

import redis

from cloudgeo.wpsnode.jobs.record import JobRecord


def celery() -> ModuleType:
    """The Celery queue module, imported on first use: it reads the node's settings
    (and takes over its handed-over credentials) from the environment when imported."""
    from cloudgeo.wpsnode.jobs import queue as module

    return module


class CeleryQueue:
    def __init__(self, broker: redis.Redis, name: str) -> None:
        # `name`: this node's queue, the Redis list Celery keeps its messages in.
        self.broker, self.name = broker, name

    def waiting(self) -> int:
        return self.broker.llen(self.name)

    def submit(self, record: JobRecord) -> None:
        # A rescued job goes back to the queue its record names (several queues may
        # share one Redis).
        celery().submit(record.jobId, record.timeLimit, record.queue)

    def stop_running(self, job_id: str) -> None:
        celery().stop_running(job_id)
