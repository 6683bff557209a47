"""Callbacks owed to jobs' subscribers, queued in Redis so that any node delivers them.

A status change a subscriber asked to hear about (subscriber.URI_FOR_STATUS) adds one
delivery in the transaction that writes the status (JobStore._transition), whichever
path the change takes: the worker, the pool's time limit, a reader past the deadline,
the watchdog. A delivery is

- a hash `cloudgeo:callback:<job>:<status>`: the URL, the fields the change wrote
  (what the status document shows as of then), the attempts so far. It is made at most
  once and lives as long as any job record may: the same change again (a rescued job
  that runs again) adds nothing, so `running` is not announced twice;
- a member `<job>:<status>` of the sorted set DUE, scored by when it is due. A
  deliverer claims it with ZREM, which answers 1 to exactly one of them; after a failed
  attempt it goes back, due after the backoff (retry_delay).

At most once: a delivery in flight on a node that dies at that moment is lost, never
sent twice. The documents themselves are built by the deliverer
(api/ogc/callback_delivery.py), from the job's record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

from cloudgeo.wpsnode.jobs.subscriber import URI_FOR_STATUS

DUE = "cloudgeo:callbacks:due"
PREFIX = "cloudgeo:callback:"
MAX_DELAY = 60.0
# The fields of a status change that a status document shows; the rest are the record's
# as it is when the delivery is made.
SNAPSHOT_FIELDS = ("status", "message", "percentCompleted", "started", "finished",
                   "failure")

# KEYS: the delivery's hash, DUE. ARGV: member, due time, url, snapshot, ttl.
ENQUEUE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], 'url', ARGV[3], 'snapshot', ARGV[4], 'attempts', 0)
redis.call('expire', KEYS[1], ARGV[5])
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
"""


def retry_delay(attempts: int) -> float:
    """Seconds to wait before the next try after `attempts` failed ones: 1, 2, 4, ...
    doubling up to MAX_DELAY."""
    return min(2.0 ** max(attempts - 1, 0), MAX_DELAY)


def snapshot(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What a status change wrote that its status document shows (a job that starts
    running has not finished, whatever its record says by the time it is posted)."""
    return {"finished": None, **{k: fields[k] for k in SNAPSHOT_FIELDS if k in fields}}


def delivery_key(job_id: str, status: str) -> str:
    return f"{PREFIX}{job_id}:{status}"


@dataclass(frozen=True)
class Callback:
    """A claimed delivery: post the job's document as of `snapshot` to `url`."""

    job_id: str
    status: str
    url: str
    attempts: int  # tries made before this one
    snapshot: dict[str, Any]

    @property
    def member(self) -> str:
        return f"{self.job_id}:{self.status}"


class CallbackQueue:
    def __init__(self, client: redis.Redis, ttl: float) -> None:
        self.redis = client
        self.ttl = int(ttl)  # at least as long as a job record lives
        self._enqueue = client.register_script(ENQUEUE)

    def add(self, pipe, job_id: str, subscriber: Mapping[str, str] | None, status: str,
            fields: Mapping[str, Any], now: float) -> None:
        """Adds to `pipe` (the transaction writing the status) the delivery this change
        owes the job's subscriber, if it owes one."""
        url = (subscriber or {}).get(URI_FOR_STATUS.get(status, ""))
        if not url:
            return
        self._enqueue(keys=[delivery_key(job_id, status), DUE],
                      args=[f"{job_id}:{status}", now, url, json.dumps(snapshot(fields)),
                            self.ttl], client=pipe)

    def claim(self, now: float, limit: int) -> list[Callback]:
        """Up to `limit` due deliveries, each now this caller's alone."""
        claimed = []
        for member in self.redis.zrangebyscore(DUE, "-inf", now, start=0, num=limit):
            if not self.redis.zrem(DUE, member):
                continue  # another deliverer's
            job_id, status = member.decode().rsplit(":", 1)
            raw = self.redis.hgetall(delivery_key(job_id, status))
            if not raw:
                continue  # expired with its job
            claimed.append(Callback(job_id, status, raw[b"url"].decode(),
                                    int(raw[b"attempts"]), json.loads(raw[b"snapshot"])))
        return claimed

    def retry(self, callback: Callback, now: float) -> float:
        """Puts back a delivery whose try failed, due after the backoff; its delay."""
        attempts = callback.attempts + 1
        delay = retry_delay(attempts)
        key = delivery_key(callback.job_id, callback.status)
        pipe = self.redis.pipeline()
        pipe.hset(key, "attempts", attempts)
        pipe.expire(key, self.ttl)  # never a hash without expiry, had it just expired
        pipe.zadd(DUE, {callback.member: now + delay})
        pipe.execute()
        return delay

    def settle(self, callback: Callback, outcome: str) -> None:
        """Notes how a delivery ended (its hash stays: the marker that it was made)."""
        key = delivery_key(callback.job_id, callback.status)
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping={"attempts": callback.attempts + 1, "outcome": outcome})
        pipe.expire(key, self.ttl)
        pipe.execute()

    def pending(self) -> int:
        return self.redis.zcard(DUE)
