"""Posts due callbacks to jobs' subscribers, from a background thread in each of the
node's HTTP worker processes (started by cloudgeo.wpsnode.__main__): never in a request
or a job, which only queue them (jobs/callbacks.py).

Each tick claims at most as many due deliveries as there are free senders, so a
subscriber that is slow or unreachable holds one sender for at most a connect and a
read timeout while the others go on. Before each try the URL's host is resolved and
checked again (inputs/pinned.py: an address may have changed since the job was
submitted) and the POST goes to the checked address; redirects are not followed.

Outcomes (metrics.CALLBACKS):
- delivered: the subscriber answered 2xx;
- retried: the try failed (unreachable, timed out, its host unknown, 408, 425, 429 or
  5xx) and another follows after the backoff (jobs/callbacks.retry_delay);
- failed: the last allowed try failed, or the subscriber answered a status no retry
  changes (3xx: redirects are not followed; other 4xx);
- refused: an address of the host no longer passes the guard (not retried);
- dropped: the job's record is gone (expired, or removed by a dismiss).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable

import urllib3

from cloudgeo.wpsnode import metrics
from cloudgeo.wpsnode.api.ogc.callbacks import callback_document, public_base
from cloudgeo.wpsnode.api.ogc.shapes import OGC_STATUS
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy
from cloudgeo.wpsnode.inputs.pinned import (
    HostUnknown,
    HrefRefused,
    pinned_request,
    resolve_checked,
)
from cloudgeo.wpsnode.jobs.callbacks import Callback
from cloudgeo.wpsnode.jobs.store import JobStore, redis_client
from cloudgeo.wpsnode.settings import WpsSettings

log = logging.getLogger(__name__)
TIMEOUT = 5.0  # seconds to connect, and to wait for the answer
SENDERS = 4  # deliveries in flight per HTTP worker process
TICK = 0.5  # seconds between looks at the queue
RETRYABLE = {408, 425, 429}
USER_AGENT = "CloudGeo-callbacks"

# url, body, policy -> the subscriber's HTTP status, or None when it was not reached.
Send = Callable[[str, bytes, HrefPolicy], "int | None"]


def verdict(status: int | None) -> str:
    """delivered, retry or failed, from the subscriber's answer (None: not reached)."""
    if status is None or status >= 500 or status in RETRYABLE:
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    return "failed"


def post_json(url: str, body: bytes, policy: HrefPolicy) -> int | None:
    """POSTs `body` to the checked address of `url`'s host; raises HrefRefused when the
    host is unknown or one of its addresses fails the guard."""
    address = resolve_checked(url, policy)
    try:
        response = pinned_request("POST", url, address, TIMEOUT, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT})
    except urllib3.exceptions.HTTPError as exc:
        log.info("callback to %s not delivered: %s", url, type(exc).__name__)
        return None
    # Only the status counts: the body, which a hostile subscriber could make endless,
    # is never read; the connection is closed with it.
    response.close()
    return response.status


class CallbackDeliverer:
    def __init__(self, jobs: JobStore, policy: HrefPolicy, base: str, attempts: int,
                 send: Send = post_json, senders: int = SENDERS) -> None:
        self.jobs, self.queue = jobs, jobs.callbacks
        self.policy, self.base, self.attempts, self.send = policy, base, attempts, send
        self.senders = senders
        self.handed: queue.SimpleQueue[Callback] = queue.SimpleQueue()
        self.busy = 0  # claimed and not yet settled
        self.lock = threading.Lock()
        # Daemon threads: a worker process that exits does not wait for a subscriber.
        for number in range(senders):
            threading.Thread(target=self._send_forever, daemon=True,
                             name=f"callback-sender-{number}").start()

    def tick(self) -> int:
        """Claims as many due deliveries as there are free senders and hands them over;
        returns how many."""
        with self.lock:
            free = self.senders - self.busy
        if free <= 0:
            return 0
        claimed = self.queue.claim(time.time(), free)
        with self.lock:
            self.busy += len(claimed)
        for callback in claimed:
            self.handed.put(callback)
        return len(claimed)

    def _send_forever(self) -> None:
        while True:
            self._deliver(self.handed.get())

    def _deliver(self, callback: Callback) -> None:
        try:
            outcome = self.attempt(callback)
            metrics.CALLBACKS.labels(OGC_STATUS[callback.status], outcome).inc()
        except Exception:
            # Claimed and not put back: lost rather than risk posting it twice.
            log.exception("callback %s for job %s failed", callback.status, callback.job_id)
        finally:
            with self.lock:
                self.busy -= 1

    def attempt(self, callback: Callback) -> str:
        """One try of one delivery; its outcome, the delivery settled or put back."""
        record = self.jobs.get(callback.job_id)
        if record is None:
            self.queue.settle(callback, "dropped")
            return "dropped"
        document = callback_document(record, callback.status, callback.snapshot, self.base)
        try:
            status = self.send(callback.url, json.dumps(document).encode(), self.policy)
        except HostUnknown:
            status = None
        except HrefRefused as exc:
            log.warning("callback for job %s refused: %s", callback.job_id, exc)
            self.queue.settle(callback, "refused")
            return "refused"
        outcome = verdict(status)
        if outcome == "retry" and callback.attempts + 1 < self.attempts:
            self.queue.retry(callback, time.time())
            return "retried"
        if outcome == "retry":
            outcome = "failed"
        if outcome == "failed":
            log.warning("callback %s for job %s to %s failed after %d tries (last answer: "
                        "%s)", callback.status, callback.job_id, callback.url,
                        callback.attempts + 1, status or "none")
        self.queue.settle(callback, outcome)
        return outcome

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                self.tick()
            except Exception as exc:  # Redis away: try again next tick
                log.warning("callback queue unreadable: %s", exc)
                stopping.wait(5)
            stopping.wait(TICK)


def start_deliveries(settings: WpsSettings) -> threading.Event | None:
    """In an HTTP worker process: a thread that delivers due callbacks until the event
    returned is set (None: this node offers no callbacks)."""
    if not settings.callbacks_offered:
        return None
    jobs = JobStore(redis_client(settings.redis_url), settings.result_ttl)
    deliverer = CallbackDeliverer(jobs, HrefPolicy.from_urls(settings.callback_hosts),
                                  public_base(settings.public_url),
                                  settings.callback_attempts)
    stopping = threading.Event()
    threading.Thread(target=deliverer.run, args=(stopping,), daemon=True,
                     name="callbacks").start()
    return stopping
