"""Prometheus exposition that adds up across gunicorn worker processes.

prometheus-client's multiprocess mode keeps each worker's samples in files
under PROMETHEUS_MULTIPROC_DIR; the scrape merges them. The directory must be
set before prometheus_client is first imported (it picks its value storage
then) and emptied when the server starts, so this module imports it lazily.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def reset_multiprocess_dir(path: str | os.PathLike[str]) -> None:
    """Empties (or creates) the samples directory and points this process tree at it."""
    directory = Path(path)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)


def mark_worker_dead(pid: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def exposition(extra_collectors: tuple = ()) -> tuple[bytes, str]:
    """The body and content type of a /metrics response (plus collectors read at scrape)."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    for collector in extra_collectors:
        extra = CollectorRegistry()
        extra.register(collector)
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST
