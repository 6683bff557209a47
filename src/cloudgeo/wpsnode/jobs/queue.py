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

import os

from celery import Celery

from cloudgeo.common.secrets import take_over
from cloudgeo.wpsnode.settings import WpsSettings

RUN_JOB = "cloudgeo.run_job"

# The node hands credentials over outside the environment; they live only in here.
settings = WpsSettings.from_env(take_over(os.environ))

app = Celery("cloudgeo", broker=settings.redis_url, set_as_current=True)
app.conf.update(
    task_default_queue=settings.queue,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,  # results live in our own job records
    worker_prefetch_multiplier=1,
    # No recycling by job count: QGIS, which grows with use, lives in a process of its
    # own, renewed by the worker between jobs (worker/runner.py). The Celery process
    # is still replaced should it grow past the memory cap.
    worker_max_memory_per_child=settings.max_worker_memory_mb * 1024,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
    # A message whose consumer vanished without acking is delivered again after this.
    broker_transport_options={"visibility_timeout": settings.job_time_limit + 60},
)


def submit(job_id: str, time_limit: float, queue: str = "") -> None:
    """Queues a job. Its time limit is a hard one: the pool kills the worker process
    and starts another. (No soft limit: Celery raises it wherever Python happens to
    run, which inside a QGIS progress callback would abort the whole process.)"""
    # The task id is the job id, so a dismiss can revoke it by name.
    app.send_task(RUN_JOB, args=[job_id], time_limit=time_limit, task_id=job_id,
                  queue=queue or settings.queue)


def stop_running(job_id: str) -> None:
    """Kills the worker process running the job (the pool starts another)."""
    app.control.revoke(job_id, terminate=True, signal="SIGKILL")
