"""The job queue: a Celery application over Redis, as the HTTP tier sees it.

This module only names the queue and sends to it; the task that consumes it, and
the QGIS worker processes' life, are registered by `cloudgeo.wpsnode.worker.tasks`
(the module the node's Celery worker starts), so the HTTP tier never imports the
worker side. Acks are late and a job whose worker process dies is requeued, so a
crash costs a retry rather than the job; the runner bounds the retries. Each pool
process starts QGIS once and is replaced after N jobs or above a memory ceiling,
never after every job (a fresh QGIS costs 1-1.5 s).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from celery import Celery

from cloudgeo.common.secrets import take_over
from cloudgeo.wpsnode.settings import WpsSettings

RUN_JOB = "cloudgeo.run_job"


WORKER_START_SECONDS = 150  # above worker/qgis_process.START_SECONDS (120)


@functools.cache
def settings() -> WpsSettings:
    """The node's settings, read once, on first use (never at import). In the Celery
    worker that is in its main process, before the pool forks: the node hands credentials
    over outside the environment, in a file deleted on reading (common/secrets.py)."""
    return WpsSettings.from_env(take_over(os.environ))


def celery_config(node: WpsSettings) -> dict[str, Any]:
    return {
        "broker_url": node.redis_url,
        "task_default_queue": node.queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,  # results live in our own job records
        "worker_prefetch_multiplier": 1,
        # No recycling by job count: QGIS, which grows with use, lives in a process of
        # its own, renewed by the worker between jobs (worker/runner.py). The Celery
        # process is still replaced should it grow past the memory cap.
        "worker_max_memory_per_child": node.max_worker_memory_mb * 1024,
        # A pool process says it is up once its QGIS process has started, which may take
        # up to worker/qgis_process.START_SECONDS on a loaded machine; Celery's default
        # (4 s) killed every replacement worker in a loop there, and the node ran no job.
        "worker_proc_alive_timeout": WORKER_START_SECONDS,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "broker_connection_retry_on_startup": True,
        # A message whose consumer vanished without acking is delivered again after this.
        "broker_transport_options": {"visibility_timeout": node.job_time_limit + 60},
    }


class _NodeCelery(Celery):
    def prepare_config(self, c: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """Celery calls this once, when it first reads its configuration (a send, or the
        worker starting): the node's settings are read then, never at import, and an
        error in them stops that first use (Celery's on_configure signal would log it
        and carry on with Celery's defaults). A plain dict, as Celery looks its settings
        up dozens of times for every message sent."""
        return super().prepare_config({**(c or {}), **celery_config(settings())})


# Built without settings, so that importing this module reads nothing.
app = _NodeCelery("cloudgeo", set_as_current=True)


def submit(job_id: str, time_limit: float, queue: str = "") -> None:
    """Queues a job. Its time limit is a hard one: the pool kills the worker process
    and starts another. (No soft limit: Celery raises it wherever Python happens to
    run, which inside a QGIS progress callback would abort the whole process.)"""
    # The task id is the job id, so a dismiss can revoke it by name.
    app.send_task(RUN_JOB, args=[job_id], time_limit=time_limit, task_id=job_id,
                  queue=queue or settings().queue)


def stop_running(job_id: str) -> None:
    """Kills the worker process running the job (the pool starts another)."""
    app.control.revoke(job_id, terminate=True, signal="SIGKILL")
