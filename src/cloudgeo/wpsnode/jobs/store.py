"""Job records in Redis: one hash per job, readable from any node.

Each hash field holds one JSON value, so progress updates touch one field.
A finished job's key expires with its results; a `done` list wakes sync waiters.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from cloudgeo.wpsnode.jobs.outputs import output_file_ids
from cloudgeo.wpsnode.jobs.record import FAILED, FINISHED, RUNNING, JobRecord

PREFIX = "cloudgeo:job:"
UNFINISHED = "cloudgeo:jobs:unfinished"  # ids of jobs not yet finished, for the sweeper
EXPIRING = "cloudgeo:jobs:expiring"  # output file ids scored by when their job expires
INDEX = "cloudgeo:jobs:index"  # every job id scored by creation time, for job lists
UNFINISHED_TTL = 7 * 24 * 3600  # a record never lingers forever, even if orphaned
# How long past its deadline a running job may stay silent before readers call it
# failed: the worker's own hard limit normally ends it first.
DEADLINE_GRACE = 30.0


# Longer than the longest blocking wait below (redis-py's default is 5 s).
SOCKET_TIMEOUT = 60
WAIT_SLICE = 30


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=5,
                                health_check_interval=30)


class JobStore:
    def __init__(self, client: redis.Redis, result_ttl: float = 24 * 3600) -> None:
        self.redis = client
        self.result_ttl = result_ttl

    @staticmethod
    def key(job_id: str) -> str:
        return f"{PREFIX}{job_id}"

    def create(self, record: JobRecord) -> None:
        key = self.key(record.jobId)
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping={k: json.dumps(v) for k, v in record.to_fields().items()})
        pipe.expire(key, UNFINISHED_TTL)
        pipe.sadd(UNFINISHED, record.jobId)
        pipe.zadd(INDEX, {record.jobId: record.created})
        pipe.execute()

    def get(self, job_id: str) -> JobRecord | None:
        raw = self.redis.hgetall(self.key(job_id))
        if not raw:
            return None
        record = JobRecord.from_fields({k.decode(): json.loads(v) for k, v in raw.items()})
        return self._apply_deadline(record)

    def update(self, job_id: str, **fields: Any) -> None:
        """Sets fields of an existing record (one that expired or was removed stays gone)."""
        key = self.key(job_id)
        if not self.redis.exists(key):
            return
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping={k: json.dumps(v) for k, v in fields.items()})
        status = fields.get("status")
        if status in FINISHED and fields.get("expires"):
            pipe.expireat(key, int(fields["expires"]) + 1)
        pipe.execute()

    def finish(self, job_id: str, **fields: Any) -> None:
        """Records the end of a job (results kept result_ttl) and wakes its waiters."""
        fields.setdefault("finished", time.time())
        fields["expires"] = fields["finished"] + self.result_ttl
        self.update(job_id, **fields)
        files = output_file_ids(fields.get("output") or {})
        if files:  # removed from object storage when the record expires
            self.redis.zadd(EXPIRING, dict.fromkeys(files, fields["expires"]))
        done = f"{self.key(job_id)}:done"
        pipe = self.redis.pipeline()
        pipe.rpush(done, "1")
        pipe.expire(done, 300)
        pipe.srem(UNFINISHED, job_id)
        pipe.execute()

    def newest(self, limit: int, keep=lambda record: True) -> list[JobRecord]:
        """Up to `limit` records, newest first, that `keep` accepts; forgets expired ids."""
        found: list[JobRecord] = []
        start, batch = 0, max(limit, 50)
        while len(found) < limit:
            ids = [m.decode() for m in self.redis.zrevrange(INDEX, start, start + batch - 1)]
            if not ids:
                break
            for job_id in ids:
                record = self.get(job_id)
                if record is None:
                    self.redis.zrem(INDEX, job_id)
                elif keep(record):
                    found.append(record)
                    if len(found) == limit:
                        break
            start += batch
        return found

    def expired_files(self, now: float) -> list[str]:
        return [m.decode() for m in self.redis.zrangebyscore(EXPIRING, "-inf", now)]

    def forget_files(self, file_ids: list[str]) -> None:
        if file_ids:
            self.redis.zrem(EXPIRING, *file_ids)

    def remove(self, job_id: str) -> None:
        key = self.key(job_id)
        self.redis.delete(key, f"{key}:done")
        self.redis.srem(UNFINISHED, job_id)
        self.redis.zrem(INDEX, job_id)

    def unfinished(self) -> list[str]:
        return [m.decode() for m in self.redis.smembers(UNFINISHED)]

    def forget_unfinished(self, job_id: str) -> None:
        self.redis.srem(UNFINISHED, job_id)

    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        """Blocks until the job finishes or `timeout` passes; returns its record."""
        self.redis.blpop([f"{self.key(job_id)}:done"],
                         timeout=max(1, min(WAIT_SLICE, int(timeout))))
        return self.get(job_id)

    def _apply_deadline(self, record: JobRecord) -> JobRecord:
        """A running job past its deadline whose worker died silently is failed here."""
        if (record.status == RUNNING and record.deadline
                and time.time() > record.deadline + DEADLINE_GRACE):
            message = (f"the job exceeded its time limit of {record.timeLimit:g} s and "
                       "was stopped")
            self.finish(record.jobId, status=FAILED, failure="timeout", message=message)
            return self.get(record.jobId) or record
        return record
