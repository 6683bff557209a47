"""A service process that fails every request is replaced, under real gunicorn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from cloudgeo.common.managed_processes import free_port
from tests.support.broken_service import RECYCLE_AFTER


def test_a_worker_that_fails_every_request_is_replaced(tmp_path):
    port = free_port()
    with open(tmp_path / "service.log", "wb") as log:
        service = subprocess.Popen([sys.executable, "-m", "tests.support.broken_service",
                                    str(port), str(tmp_path)], stdout=log, stderr=log,
                                   start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/pid"
        statuses: list[int] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and statuses.count(200) < 10:
            try:
                statuses.append(requests.get(url, timeout=10).status_code)
            except requests.ConnectionError:
                time.sleep(0.1)  # not listening yet
        # The broken process answers its limit of failures (one more at most: a request
        # it accepted before its own stop signal landed), then a fresh one answers
        # everything; not one request is refused on the way.
        failures = statuses.count(500)
        assert failures in (RECYCLE_AFTER, RECYCLE_AFTER + 1), statuses
        assert statuses == [500] * failures + [200] * 10, statuses
        pids = {requests.get(url, timeout=10).json()["pid"] for _ in range(5)}
        assert len(pids) == 1 and service.pid not in pids
        assert b"asking for a fresh process" in (tmp_path / "service.log").read_bytes()
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(30)
