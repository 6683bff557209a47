"""PyWPS's request log under threads, as a gunicorn worker's threads use it.

Each case runs in a child process: with PyWPS's own shared in-memory log, threads
interleave their transactions on one SQLite connection, and that can crash the
whole process (seen here: a segmentation fault), not only fail requests.
"""

from __future__ import annotations

import subprocess
import sys

HAMMER = r'''
import sys, threading, uuid
from types import SimpleNamespace
from pywps import configuration, dblog
from pywps.response.status import WPS_STATUS

configuration.load_configuration([])
configuration.CONFIG.set("logging", "database", "sqlite:///:memory:")
configuration.CONFIG.set("logging", "level", "WARNING")
if sys.argv[1] == "dropped":
    from cloudgeo.wpsnode.api.wps10 import drop_request_log
    drop_request_log()
    def no_database():
        raise AssertionError("the request log opened its database")
    dblog.get_session = no_database
    import importlib
    from pywps.response import basic
    Service = importlib.import_module("pywps.app.Service")
    # PyWPS's modules that imported the log's functions by name get the same ones.
    assert Service.log_request is dblog.log_request
    assert basic.store_status is dblog.store_status is Service.store_status
# Stands in for a parsed WPSRequest: the fields log_request reads.
request = SimpleNamespace(operation="execute", version="1.0.0", identifier="native:buffer")
errors = []

def serve():
    for _ in range(60):
        job = uuid.uuid4()
        try:
            dblog.log_request(job, request)
            dblog.store_status(job, WPS_STATUS.STARTED, "running", 10)
            dblog.get_process_counts()
            dblog.store_status(job, WPS_STATUS.SUCCEEDED, "done", 100)
        except Exception as exc:
            errors.append(exc)

workers = [threading.Thread(target=serve) for _ in range(16)]
for w in workers: w.start()
for w in workers: w.join()
print(f"{len(errors)} errors")
'''


def run(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HAMMER, mode], capture_output=True,
                          text=True, timeout=120)


def test_shared_memory_log_fails_under_threads():
    """The failure the fix is for, with PyWPS's own get_session."""
    done = run("shared")
    assert done.returncode != 0 or done.stdout.strip() != "0 errors", \
        "PyWPS's shared in-memory log no longer fails under threads: the fix may go"


def test_dropped_log_loses_none_and_touches_no_database():
    done = run("dropped")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0 errors"
