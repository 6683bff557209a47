"""What the job service needs of the world outside it, as small protocols.

The node's app factory (api/app.py) builds the adapters (JobStore over Redis,
CeleryQueue, the S3 ObjectStore, CallerQuota, Watchdog) in one place and hands them
to JobService; unit tests hand it in-memory fakes (tests/support/job_fakes.py)
instead. A protocol names only what the service calls, so a fake stays small.
"""

from __future__ import annotations

from typing import Any, Protocol

from cloudgeo.wpsnode.jobs.joblist import JobQuery
from cloudgeo.wpsnode.jobs.record import JobRecord


class JobRecords(Protocol):
    """The job store (jobs/store.py JobStore): records, their log, the job list."""

    def get(self, job_id: str) -> JobRecord | None: ...

    def create(self, record: JobRecord) -> None: ...

    def finish(self, job_id: str, log: list[str] | None = None, **fields: Any) -> None: ...

    def remove(self, job_id: str) -> None: ...

    def fail_overdue(self, record: JobRecord, now: float | None = None) -> JobRecord: ...

    def find(self, query: JobQuery, now: float | None = None) -> list[JobRecord]: ...

    def log(self, job_id: str) -> list[str]: ...

    def wait(self, job_id: str, timeout: float) -> JobRecord | None: ...


class JobQueue(Protocol):
    """The queue QGIS workers take jobs from (jobs/celery_queue.py CeleryQueue)."""

    def waiting(self) -> int:
        """How many jobs wait in this node's queue (admission refuses past a cap)."""
        ...

    def submit(self, record: JobRecord) -> None: ...

    def stop_running(self, job_id: str) -> None: ...


class ObjectSink(Protocol):
    """Where output files are stored (storage/objectstore.py ObjectStore); the service
    only removes them, with a finished job's record."""

    def delete(self, key: str) -> None: ...


class CallerPlaces(Protocol):
    """Each caller's unfinished jobs, capped (jobs/quota.py CallerQuota)."""

    def unfinished(self, caller: str) -> int: ...

    def take(self, caller: str, job_id: str) -> bool: ...


class Rescuer(Protocol):
    """Rescues a job its node left behind (jobs/watchdog.py Watchdog)."""

    def check(self, record: JobRecord) -> JobRecord: ...
