"""A service process that fails every request asks gunicorn for a replacement.

A worker process can break for good while its siblings are fine (a codec that
failed to load, a poisoned connection, a library's corrupted state): it then fails
every request it is given, and a gateway health check that happens to land on a
healthy sibling never notices. So each process counts its own unexpected failures
in a row (an exception that reached our error handler, or escaped the app
entirely); a request answered normally resets the count; at the limit the process
sends itself SIGTERM, finishes what it is serving, and the gunicorn arbiter starts
a fresh one. Deliberate errors (4xx, a 503 while draining, a job's own failure)
are not unexpected and do not count.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 5


def terminate_this_process() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


class FailureStreak:
    """Consecutive unexpected failures of this process; calls `stop` once at `limit`."""

    def __init__(self, limit: int = DEFAULT_LIMIT,
                 stop: Callable[[], None] = terminate_this_process) -> None:
        self.limit, self.stop = limit, stop
        self.count = 0
        self.stopped = False
        self.lock = threading.Lock()

    def failed(self) -> None:
        with self.lock:
            self.count += 1
            give_up = self.count >= self.limit and not self.stopped
            self.stopped = self.stopped or give_up
        if give_up:
            log.error("%d unexpected failures in a row in process %d: asking for a "
                      "fresh process", self.count, os.getpid())
            self.stop()

    def succeeded(self) -> None:
        with self.lock:
            self.count = 0


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def counting_escapes(wsgi_app: WsgiApp, streak: FailureStreak) -> WsgiApp:
    """Wraps a WSGI app so that an exception escaping it (before Flask's error
    handlers could run: building the request context, say) counts as a failure."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return wsgi_app(environ, start_response)
        except Exception:
            streak.failed()
            raise

    return app
