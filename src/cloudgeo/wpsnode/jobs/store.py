"""Job records in Redis: one hash per job, readable from any node.

Each hash field holds one JSON value, so progress updates touch one field.
A finished job's key expires with its results; a `done` list wakes sync waiters.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis

from cloudgeo.wpsnode.jobs.callbacks import CallbackQueue
from cloudgeo.wpsnode.jobs.deadline import overdue, timeout_message
from cloudgeo.wpsnode.jobs.joblist import (
    ALL_JOBS,
    DURATIONS,
    INDEX_KEYS,
    STATUSES,
    JobQuery,
    duration,
    finished_keys,
    keys_of,
    record_index_keys,
    status_moves,
)
from cloudgeo.wpsnode.jobs.outputs import output_file_ids
from cloudgeo.wpsnode.jobs.record import DISMISSED, FAILED, FINISHED, JobRecord

PREFIX = "cloudgeo:job:"
UNFINISHED = "cloudgeo:jobs:unfinished"  # ids of jobs not yet finished, for the sweeper
EXPIRING = "cloudgeo:jobs:expiring"  # output file ids scored by when their job expires
INDEX = ALL_JOBS  # every job id scored by creation time; the other lists: joblist.py
UNFINISHED_TTL = 7 * 24 * 3600  # a record never lingers forever, even if orphaned
# What a status change reads of the record before writing it (JobStore._transition).
TRANSITION_FIELDS = ("identifier", "owner", "created", "started", "status", "finished",
                     "subscriber")


# Fields set on a record only while it exists, in one command (a progress update or
# the queue's note must not bring back a record that expired or was removed).
SET_IF_EXISTS = """
if redis.call('exists', KEYS[1]) == 1 then return redis.call('hset', KEYS[1], unpack(ARGV)) end
return 0
"""

# A job's log (QGIS's messages, every attempt) is a list beside its record, living as
# long as the record; the worker keeps at most this many lines of it.
MAX_LOG_LINES = 5000

# Longer than the longest blocking wait below (redis-py's default is 5 s).
SOCKET_TIMEOUT = 60
WAIT_SLICE = 30


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=5,
                                health_check_interval=30)


def _number(value: bytes | None) -> float | None:
    """A numeric field's JSON (b"null" when unset)."""
    return None if value is None or value == b"null" else float(value)


def _decoded(fields) -> dict[str, Any]:
    """A record's (name, JSON value) pairs as one dict, parsed in one go (a job list
    decodes thousands of fields; one json.loads per record, not per field)."""
    return json.loads(b"{" + b",".join(
        b'"' + (name if isinstance(name, bytes) else name.encode()) + b'":' + value
        for name, value in fields if value is not None) + b"}")


def _index(pipe, job_id: str, created: float, keys: list[str]) -> None:
    """Adds the job to index sets (and the sets to those the trimming walks)."""
    for index in keys:
        pipe.zadd(index, {job_id: created})
    pipe.sadd(INDEX_KEYS, *keys)


def _duration_keys(identifier: str, owner: str | None, status: str, started: float | None,
                   finished: float) -> list[str]:
    """The duration-bucket sets a job that finished at `finished` is in."""
    return finished_keys(identifier, owner, status, duration(started, finished, finished))


def _keep_duration(pipe, job_id: str, created: float, identifier: str, owner: str | None,
                   status: str, started: float | None, finished: float) -> None:
    """A finished job's duration, and its entries in the duration-bucket sets."""
    took = duration(started, finished, finished)
    pipe.hset(DURATIONS, job_id, took)
    _index(pipe, job_id, created, finished_keys(identifier, owner, status, took))


class JobStore:
    def __init__(self, client: redis.Redis, result_ttl: float = 24 * 3600) -> None:
        self.redis = client
        self.result_ttl = result_ttl
        self._set_if_exists = client.register_script(SET_IF_EXISTS)
        # A callback's marker outlives any record, so a change is announced once.
        self.callbacks = CallbackQueue(client, UNFINISHED_TTL + result_ttl)

    @staticmethod
    def key(job_id: str) -> str:
        return f"{PREFIX}{job_id}"

    @classmethod
    def log_key(cls, job_id: str) -> str:
        return f"{cls.key(job_id)}:log"

    def create(self, record: JobRecord) -> None:
        self.create_many([record])

    def create_many(self, records: list[JobRecord]) -> None:
        """New records with their index entries (one transaction; many records in one
        round trip, as bench/joblist.py fills a million)."""
        pipe = self.redis.pipeline()
        for record in records:
            key = self.key(record.jobId)
            pipe.hset(key, mapping={k: json.dumps(v) for k, v in record.to_fields().items()})
            pipe.expire(key, UNFINISHED_TTL)
            if record.status not in FINISHED:
                pipe.sadd(UNFINISHED, record.jobId)
            _index(pipe, record.jobId, record.created, record_index_keys(record))
            if record.status in FINISHED and record.finished is not None:
                _keep_duration(pipe, record.jobId, record.created, record.identifier,
                               record.owner, record.status, record.started, record.finished)
        pipe.execute()

    def get(self, job_id: str) -> JobRecord | None:
        """The record as stored (a read: it never changes the job; the sweeper ends
        overdue ones, see fail_overdue)."""
        raw = self.redis.hgetall(self.key(job_id))
        if not raw:
            return None
        return JobRecord.from_fields(_decoded(raw.items()))

    def update(self, job_id: str, **fields: Any) -> None:
        """Sets fields of an existing record (one that expired or was removed stays gone)."""
        if not fields:
            return
        if "status" not in fields:  # no index moves: one round trip
            self._set_if_exists(keys=[self.key(job_id)], args=[
                item for name, value in fields.items() for item in (name, json.dumps(value))])
            return
        self._transition(job_id, fields)

    def _transition(self, job_id: str, fields: dict[str, Any],
                    before: Callable[[Any], None] | None = None,
                    after: Callable[[Any, bool], None] | None = None) -> bool:
        """Writes `fields`, a status among them, with the index moves it makes and the
        callback it owes the job's subscriber (every status change passes here), in one
        transaction with what `before(pipe)` and `after(pipe, written)` add. The record
        is watched between its read and the write: a change in between (a dismissal
        racing a worker's start) makes it read again, so a decision is never taken on a
        status that is no longer there. False when the record is gone, or dismissed."""
        def write(pipe) -> bool:
            record = self._fields(job_id, *TRANSITION_FIELDS, client=pipe)
            written = record[0] is not None and not (
                record[4] == DISMISSED and fields["status"] != DISMISSED)
            pipe.multi()
            if before is not None:
                before(pipe)
            if written:
                self._write_status(pipe, job_id, fields, *record)
            if after is not None:
                after(pipe, written)
            return written

        return self.redis.transaction(write, self.key(job_id), value_from_callable=True)

    def _write_status(self, pipe, job_id: str, fields: dict[str, Any], identifier: str,
                      owner: str | None, created: float, started: float | None, was: str,
                      finished: float | None, subscriber: dict | None) -> None:
        key = self.key(job_id)
        pipe.hset(key, mapping={k: json.dumps(v) for k, v in fields.items()})
        status = fields["status"]
        self.callbacks.add(pipe, job_id, subscriber, status, fields, time.time())
        added, removed = status_moves(identifier, owner, status)
        _index(pipe, job_id, created, added)
        for index in removed:
            pipe.zrem(index, job_id)
        if was in FINISHED and finished is not None:  # leaves its old duration sets
            for index in _duration_keys(identifier, owner, was, started, finished):
                pipe.zrem(index, job_id)
        started, finished = fields.get("started", started), fields.get("finished", finished)
        if status in FINISHED and finished is not None:
            _keep_duration(pipe, job_id, created, identifier, owner, status, started, finished)
        if status in FINISHED and fields.get("expires"):
            pipe.expireat(key, int(fields["expires"]) + 1)
            pipe.expireat(self.log_key(job_id), int(fields["expires"]) + 1)

    def append_log(self, job_id: str, lines: list[str]) -> None:
        """Adds lines to the job's log (a running job's, kept a week at most until it
        ends: the record's own bound)."""
        if lines:
            pipe = self.redis.pipeline()
            self._push_log(pipe, job_id, lines)
            pipe.expire(self.log_key(job_id), UNFINISHED_TTL)
            pipe.execute()

    def _push_log(self, pipe, job_id: str, lines: list[str]) -> None:
        key = self.log_key(job_id)
        pipe.rpush(key, *lines)
        pipe.ltrim(key, 0, MAX_LOG_LINES - 1)

    def log(self, job_id: str) -> list[str]:
        """The job's log lines, oldest first."""
        return [line.decode() for line in self.redis.lrange(self.log_key(job_id), 0, -1)]

    def finish(self, job_id: str, log: list[str] | None = None, **fields: Any) -> None:
        """Records the end of a job (results and log kept result_ttl) and wakes its
        waiters, in one transaction with the record's write."""
        fields.setdefault("finished", time.time())
        fields["expires"] = fields["finished"] + self.result_ttl
        files = output_file_ids(fields.get("output") or {})

        def push_log(pipe) -> None:  # before the record's write, which sets its expiry
            if log:
                self._push_log(pipe, job_id, log)

        def wake_waiters(pipe, written: bool) -> None:
            if not written and log:  # the record is gone (or dismissed): the log expires
                pipe.expire(self.log_key(job_id), int(self.result_ttl))
            if files:  # removed from object storage when the record expires
                pipe.zadd(EXPIRING, dict.fromkeys(files, fields["expires"]))
            done = f"{self.key(job_id)}:done"
            pipe.rpush(done, "1")
            pipe.expire(done, 300)
            pipe.srem(UNFINISHED, job_id)

        self._transition(job_id, fields, push_log, wake_waiters)

    def status(self, job_id: str) -> str | None:
        """The job's status alone (None when there is no record)."""
        return self._fields(job_id, "status")[0]

    def _fields(self, job_id: str, *names: str, client=None) -> list:
        """Some fields of a record (None for each when there is no record)."""
        raw = (client or self.redis).hmget(self.key(job_id), names)
        return [None if value is None else json.loads(value) for value in raw]

    def _candidates(self, keys: list[str], query: JobQuery, batch: int, start: int = 0):
        """(job id, index) from the query's index sets, newest first, merged; `start`
        entries of each set are passed over in Redis."""
        high, low = query.score_range()
        if len(keys) == 1:  # nothing to merge: no scores needed
            (key,) = keys
            while True:
                members = self.redis.zrevrangebyscore(key, high, low, start=start, num=batch)
                for member in members:
                    yield member.decode(), key
                if len(members) < batch:
                    return
                start += batch
        buffers: dict[str, deque] = {key: deque() for key in keys}
        cursors, exhausted = dict.fromkeys(keys, start), set()

        def refill(key: str) -> None:
            entries = self.redis.zrevrangebyscore(key, high, low, start=cursors[key],
                                                  num=batch, withscores=True)
            cursors[key] += len(entries)
            if len(entries) < batch:
                exhausted.add(key)
            buffers[key].extend((score, member.decode()) for member, score in entries)

        while True:
            for key in keys:
                if not buffers[key] and key not in exhausted:
                    refill(key)
            live = [key for key in keys if buffers[key]]
            if not live:
                return
            key = max(live, key=lambda k: buffers[k][0][0])
            yield buffers[key].popleft()[1], key

    def find(self, query: JobQuery, now: float | None = None) -> list[JobRecord]:
        """One page of the job list, newest first. The index sets answer owner, status,
        process and creation time (a status moves with its record); a candidate is read
        only for what they cannot say: whether its record still exists (an expired one
        leaves the set as it is met) and, with a duration filter, how long it ran.
        Without one, the page's offset is passed over unread. Every record on the page
        is checked against the whole query all the same."""
        now = time.time() if now is None else now
        keys = query.keys()
        timed = query.timed
        in_redis = 0 if timed or len(keys) > 1 else query.offset
        unread = 0 if timed else query.offset - in_redis
        to_skip = query.offset if timed else 0  # candidates of the right duration
        records: list[JobRecord] = []
        seen: set[str] = set()

        def lasting(chunk: list[tuple[str, str]], gone) -> list[tuple[str, str]]:
            """The candidates of the right duration: a finished job's from DURATIONS (one
            command for the chunk), the others' from their records."""
            nonlocal to_skip
            known = self.redis.hmget(DURATIONS, [job_id for job_id, _ in chunk])
            unknown = [c for c, took in zip(chunk, known, strict=True) if took is None]
            pipe = self.redis.pipeline(transaction=False)
            for job_id, _ in unknown:
                pipe.hmget(self.key(job_id), ("created", "started", "finished"))
            durations = {}
            for (job_id, index), (created, started, finished) in zip(
                    unknown, pipe.execute(), strict=True):
                if created is None:
                    gone.zrem(index, job_id)
                else:
                    durations[job_id] = duration(_number(started), _number(finished), now)
            kept = []
            for (job_id, index), took in zip(chunk, known, strict=True):
                took = float(took) if took is not None else durations.get(job_id)
                if took is None:
                    continue
                if ((query.min_duration is None or took >= query.min_duration)
                        and (query.max_duration is None or took <= query.max_duration)):
                    if to_skip:
                        to_skip -= 1
                    else:
                        kept.append((job_id, index))
            return kept

        def read(chunk: list[tuple[str, str]]) -> None:
            gone = self.redis.pipeline(transaction=False)
            if timed:
                chunk = lasting(chunk, gone)
            chunk = chunk[:query.limit - len(records)]
            pipe = self.redis.pipeline(transaction=False)
            for job_id, _ in chunk:
                pipe.hgetall(self.key(job_id))
            for (job_id, index), raw in zip(chunk, pipe.execute(), strict=True):
                if not raw:  # expired or removed
                    gone.zrem(index, job_id)
                    gone.hdel(DURATIONS, job_id)
                    continue
                record = JobRecord.from_fields(_decoded(raw.items()))
                if query.accepts(vars(record), now):
                    records.append(record)
            gone.execute()

        # The duration buckets hand over mostly jobs of the right duration: candidates
        # are read a page (plus the offset still to pass over) at a time, twice as many
        # each time a boundary bucket's misses leave the page short.
        growth = 1

        def wanted() -> int:
            return min(1000, max(query.limit - len(records) + to_skip, 1) * growth)

        chunk, size = [], wanted() if timed else query.limit
        batch = min(max(unread + to_skip + query.limit, 100), 1000)
        for job_id, index in self._candidates(keys, query, batch, in_redis):
            if job_id in seen:
                continue
            seen.add(job_id)
            if unread:
                unread -= 1
                continue
            chunk.append((job_id, index))
            if len(chunk) >= size:
                read(chunk)
                chunk = []
                if len(records) >= query.limit:
                    break
                growth *= 2
                size = wanted() if timed else query.limit - len(records)
        if chunk and len(records) < query.limit:
            read(chunk)
        return records

    def trim_indexes(self, now: float) -> None:
        """Drops index entries older than any record can live (the rest go lazily,
        when a list reads them)."""
        horizon = now - UNFINISHED_TTL - self.result_ttl
        while old := self.redis.zrangebyscore(ALL_JOBS, "-inf", horizon, start=0, num=5000):
            self.redis.hdel(DURATIONS, *old)
            self.redis.zrem(ALL_JOBS, *old)
        for index in self.redis.smembers(INDEX_KEYS):
            self.redis.zremrangebyscore(index, "-inf", horizon)

    def expired_files(self, now: float) -> list[str]:
        return [m.decode() for m in self.redis.zrangebyscore(EXPIRING, "-inf", now)]

    def forget_files(self, file_ids: list[str]) -> None:
        if file_ids:
            self.redis.zrem(EXPIRING, *file_ids)

    def remove(self, job_id: str) -> None:
        key = self.key(job_id)
        identifier, owner, status, started, finished = self._fields(
            job_id, "identifier", "owner", "status", "started", "finished")
        pipe = self.redis.pipeline()
        pipe.delete(key, f"{key}:done", self.log_key(job_id))
        pipe.srem(UNFINISHED, job_id)
        pipe.zrem(INDEX, job_id)
        pipe.hdel(DURATIONS, job_id)
        if identifier is not None:
            indexes = {k for each in STATUSES for k in keys_of(identifier, owner, each)}
            if status in FINISHED and finished is not None:
                indexes.update(_duration_keys(identifier, owner, status, started, finished))
            for index in indexes:
                pipe.zrem(index, job_id)
        pipe.execute()

    def unfinished(self) -> list[str]:
        return [m.decode() for m in self.redis.smembers(UNFINISHED)]

    def forget_unfinished(self, job_id: str) -> None:
        self.redis.srem(UNFINISHED, job_id)

    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        """Blocks until the job finishes or `timeout` passes; returns its record."""
        self.redis.blpop([f"{self.key(job_id)}:done"],
                         timeout=max(1, min(WAIT_SLICE, int(timeout))))
        return self.get(job_id)

    def fail_overdue(self, record: JobRecord, now: float | None = None) -> JobRecord:
        """Fails a running job past its deadline whose worker died silently, and returns
        the record as it is then (unchanged when not overdue). A write: the sweeper, and
        writers about to act on the job, call it; reads do not."""
        if not overdue(record, time.time() if now is None else now):
            return record
        self.finish(record.jobId, status=FAILED, failure="timeout",
                    message=timeout_message(record))
        return self.get(record.jobId) or record
