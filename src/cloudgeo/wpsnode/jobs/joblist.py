"""The job list's Redis indexes and queries on them: pure (the store does the I/O).

Every job is in up to eight sorted sets scored by its creation time, one per
combination of {its owner, any owner} × {its status, any status} × {its process, any
process}. A list filtered by owner, status and process is then one range read of one
set (a few sets when several statuses or processes are asked for, merged), newest first;
`datetime` is a score range. A finished job's duration no longer changes, so it is
also in the same eight sets split by a duration bucket (`DURATION_EDGES`): a list with
minDuration/maxDuration merges the buckets the range touches, newest first, and only the
boundary buckets hold jobs outside it; running jobs (whose duration grows) come from the
running sets. Every candidate is still checked against the whole query: an index entry
is a hint, the record decides (a stale entry costs a read, never a wrong answer). A
status change moves the job between sets in the same transaction as the record's write.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from urllib.parse import quote

from cloudgeo.wpsnode.jobs.record import (
    ACCEPTED,
    DISMISSED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    JobRecord,
)

STATUSES = (ACCEPTED, RUNNING, SUCCEEDED, FAILED, DISMISSED)
ANY = "*"
ALL_JOBS = "cloudgeo:jobs:index"  # any owner, status and process (the oldest index's name)
INDEX_KEYS = "cloudgeo:jobs:index-keys"  # every index set made, for trimming
# Finished jobs' durations (a hash: job id -> seconds), so a duration filter reads one
# field per candidate in one command, not a record each.
DURATIONS = "cloudgeo:jobs:durations"
# Bucket edges in seconds (1 s, 10 s, a minute, 10 minutes, an hour, a day): the
# thresholds people filter by fall on an edge, so a bucket is mostly all in or all out.
DURATION_EDGES = (1.0, 10.0, 60.0, 600.0, 3600.0, 86400.0)


def _key_parts(owner: str | None, status: str | None, process: str | None) -> str:
    return ":".join(ANY if value is None else quote(value, safe="")
                    for value in (owner, status, process))


def index_key(owner: str | None, status: str | None, process: str | None) -> str:
    parts = _key_parts(owner, status, process)
    return ALL_JOBS if parts == f"{ANY}:{ANY}:{ANY}" else f"cloudgeo:jobs:ix:{parts}"


def duration_bucket(seconds: float) -> int:
    """The bucket of a duration: 0 below the first edge, len(DURATION_EDGES) above the last."""
    return bisect_right(DURATION_EDGES, seconds)


def buckets_between(low: float | None, high: float | None) -> range:
    """The buckets holding durations in [low, high]."""
    return range(duration_bucket(low or 0.0),
                 duration_bucket(high) + 1 if high is not None else len(DURATION_EDGES) + 1)


def duration_index_key(owner: str | None, status: str | None, process: str | None,
                       bucket: int) -> str:
    """The set of finished jobs with these values whose duration is in `bucket`."""
    return f"cloudgeo:jobs:dx{bucket}:{_key_parts(owner, status, process)}"


def finished_keys(identifier: str, owner: str | None, status: str, took: float) -> list[str]:
    """The duration-bucket sets a finished job is in."""
    bucket = duration_bucket(took)
    return [duration_index_key(o, s, p, bucket) for o, s, p in
            product(_owners(owner), (None, status), (None, identifier))]


def _owners(owner: str | None) -> list[str | None]:
    return [None] if owner is None else [None, owner]


def keys_of(identifier: str, owner: str | None, status: str) -> list[str]:
    """Every index set a job with these values is in."""
    return [index_key(o, s, p) for o, s, p in
            product(_owners(owner), (None, status), (None, identifier))]


def status_moves(identifier: str, owner: str | None, status: str
                 ) -> tuple[list[str], list[str]]:
    """(sets to add the job to, sets to remove it from) when its status becomes `status`."""
    added = [index_key(o, status, p) for o, p in product(_owners(owner), (None, identifier))]
    removed = [index_key(o, other, p) for o, other, p in
               product(_owners(owner), STATUSES, (None, identifier)) if other != status]
    return added, removed


def duration(started: float | None, finished: float | None, now: float) -> float:
    """Seconds from start to finish (to now while running; 0 before it starts)."""
    if started is None:
        return 0.0
    return max(0.0, (finished if finished is not None else now) - started)


@dataclass(frozen=True)
class JobQuery:
    """A job list request: equality filters, a creation-time range, a duration range and
    a page. `owner` None lists every caller's jobs."""

    owner: str | None = None
    statuses: frozenset[str] = frozenset()
    process_ids: frozenset[str] = frozenset()
    created_from: float | None = None
    created_to: float | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    limit: int = 100
    offset: int = 0

    @property
    def timed(self) -> bool:
        return self.min_duration is not None or self.max_duration is not None

    def keys(self) -> list[str]:
        """The sets whose merge, newest first, holds every job the query may list."""
        processes: Iterable[str | None] = sorted(self.process_ids) or [None]
        if not self.timed:
            statuses: Iterable[str | None] = sorted(self.statuses) or [None]
            return [index_key(self.owner, s, p) for s, p in product(statuses, processes)]
        # Finished jobs from the buckets the range touches (one set per bucket when no
        # status is asked for); unfinished ones from their status sets, the accepted
        # (who have not run at all) only when a duration of 0 is in the range.
        asked = self.statuses or frozenset(STATUSES)
        by_bucket: Iterable[str | None] = (sorted(self.statuses & {SUCCEEDED, FAILED, DISMISSED})
                                           if self.statuses else [None])
        unfinished = [s for s in (RUNNING, ACCEPTED) if s in asked
                      and (s == RUNNING or not self.min_duration)]
        buckets = buckets_between(self.min_duration, self.max_duration)
        return ([duration_index_key(self.owner, s, p, b)
                 for s, p, b in product(by_bucket, processes, buckets)]
                + [index_key(self.owner, s, p) for s, p in product(unfinished, processes)])

    def score_range(self) -> tuple[str, str]:
        """ZRANGEBYSCORE bounds (max, min) of the creation-time range."""
        high = "+inf" if self.created_to is None else repr(self.created_to)
        low = "-inf" if self.created_from is None else repr(self.created_from)
        return high, low

    def accepts(self, fields: dict, now: float) -> bool:
        """Whether a job's fields (status, identifier, owner, created, started,
        finished) pass every filter."""
        if self.owner is not None and fields.get("owner") != self.owner:
            return False
        if self.statuses and fields.get("status") not in self.statuses:
            return False
        if self.process_ids and fields.get("identifier") not in self.process_ids:
            return False
        created = fields.get("created") or 0.0
        if self.created_from is not None and created < self.created_from:
            return False
        if self.created_to is not None and created > self.created_to:
            return False
        took = duration(fields.get("started"), fields.get("finished"), now)
        if self.min_duration is not None and took < self.min_duration:
            return False
        return self.max_duration is None or took <= self.max_duration


def record_index_keys(record: JobRecord) -> list[str]:
    return keys_of(record.identifier, record.owner, record.status)
