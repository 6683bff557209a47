"""In-memory test doubles of the job service's ports (cloudgeo.wpsnode.jobs.ports), so
JobService's own logic is tested in milliseconds. They are fakes, named as such: Redis,
Celery and S3 behind the real adapters are tested in tests/integration."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from cloudgeo.storage.objectstore import ObjectNotFound
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.jobs.deadline import overdue, timeout_message
from cloudgeo.wpsnode.jobs.joblist import JobQuery
from cloudgeo.wpsnode.jobs.record import DISMISSED, FAILED, JobRecord
from cloudgeo.wpsnode.jobs.service import JobService
from cloudgeo.wpsnode.settings import WpsSettings


def _copy(record: JobRecord) -> JobRecord:
    # A copy in and out, as a record read from Redis: the caller's changes stay theirs.
    return dataclasses.replace(record)


class FakeJobRecords:
    """Test double of JobStore: records in a dict, the job list filtered in Python."""

    def __init__(self, result_ttl: float = 24 * 3600) -> None:
        self.result_ttl = result_ttl
        self.records: dict[str, JobRecord] = {}
        self.logs: dict[str, list[str]] = {}
        self.writes = 0  # every call that changes a record, so a test sees reads write none

    def get(self, job_id: str) -> JobRecord | None:
        record = self.records.get(job_id)
        return _copy(record) if record is not None else None

    def create(self, record: JobRecord) -> None:
        self.writes += 1
        self.records[record.jobId] = _copy(record)

    def finish(self, job_id: str, log: list[str] | None = None, **fields: Any) -> None:
        """As JobStore.finish: a gone record stays gone, a dismissed one dismissed."""
        self.writes += 1
        record = self.records.get(job_id)
        if record is None or (record.status == DISMISSED and fields["status"] != DISMISSED):
            return
        fields.setdefault("finished", time.time())
        fields["expires"] = fields["finished"] + self.result_ttl
        self.records[job_id] = dataclasses.replace(record, **fields)
        self.logs.setdefault(job_id, []).extend(log or [])

    def remove(self, job_id: str) -> None:
        self.writes += 1
        self.records.pop(job_id, None)
        self.logs.pop(job_id, None)

    def fail_overdue(self, record: JobRecord, now: float | None = None) -> JobRecord:
        if not overdue(record, time.time() if now is None else now):
            return record
        self.finish(record.jobId, status=FAILED, failure="timeout",
                    message=timeout_message(record))
        return self.get(record.jobId) or record

    def find(self, query: JobQuery, now: float | None = None) -> list[JobRecord]:
        now = time.time() if now is None else now
        kept = sorted((r for r in self.records.values() if query.accepts(vars(r), now)),
                      key=lambda r: r.created, reverse=True)
        return [_copy(r) for r in kept[query.offset:query.offset + query.limit]]

    def log(self, job_id: str) -> list[str]:
        return list(self.logs.get(job_id, []))

    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        return self.get(job_id)  # nothing runs the job here: no reason to block


class FakeQueue:
    """Test double of CeleryQueue: remembers what was queued and stopped."""

    def __init__(self, waiting: int = 0) -> None:
        self.backlog = waiting  # jobs of others already waiting
        self.submitted: list[JobRecord] = []
        self.stopped: list[str] = []

    def waiting(self) -> int:
        return self.backlog + len(self.submitted)

    def submit(self, record: JobRecord) -> None:
        self.submitted.append(_copy(record))

    def stop_running(self, job_id: str) -> None:
        self.stopped.append(job_id)


class FakeObjectSink:
    """Test double of the S3 ObjectStore: stored keys in a set."""

    def __init__(self, *keys: str) -> None:
        self.keys = set(keys)

    def delete(self, key: str) -> None:
        if key not in self.keys:
            raise ObjectNotFound(key)
        self.keys.remove(key)


class FakeQuota:
    """Test double of CallerQuota: each caller's job ids, capped."""

    def __init__(self, cap: int = 100) -> None:
        self.cap = cap
        self.places: dict[str, list[str]] = {}

    def unfinished(self, caller: str) -> int:
        return len(self.places.get(caller, []))

    def take(self, caller: str, job_id: str) -> bool:
        taken = self.places.setdefault(caller, [])
        if len(taken) >= self.cap:
            return False
        taken.append(job_id)
        return True


class FakeRescuer:
    """Test double of the Watchdog: finds every job alive, and counts its checks."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    def check(self, record: JobRecord) -> JobRecord:
        self.checked.append(record.jobId)
        return record


# A job service on these fakes, publishing one process.
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
    "outputs": [{"name": "OUTPUT", "title": "Output", "type": "outputVector",
                 "dataType": "vectorOutput", "formats": ["gpkg", "geojson"]}],
}
LAYER = "http://127.0.0.1:9000/api/file/retrieve/abc.zip"
OUTPUT = "http://127.0.0.1:9000/api/file/retrieve/out1.gpkg"


class Ports:
    """One of each fake port."""

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
