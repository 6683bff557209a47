"""The Celery application: a durable job queue in Redis feeding QGIS worker processes.

Acks are late and a job whose worker process dies is requeued, so a crash costs
a retry rather than the job; the runner bounds the retries. Each pool process
starts QGIS once (worker_process_init) and is replaced after N jobs or above a
memory ceiling, never after every job (a fresh QGIS costs 1-1.5 s).
"""

from __future__ import annotations

import os

from celery import Celery, signals

from cloudgeo.common.secrets import take_over
from cloudgeo.wpsnode.settings import WpsSettings

# The node hands credentials over outside the environment; they live only in here.
settings = WpsSettings.from_env(take_over(os.environ))

app = Celery("cloudgeo", broker=settings.redis_url, set_as_current=True)
app.conf.update(
    task_default_queue=settings.queue,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,  # results live in our own job records
    worker_prefetch_multiplier=1,
    worker_max_tasks_per_child=settings.max_jobs_per_worker,
    worker_max_memory_per_child=settings.max_worker_memory_mb * 1024,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
    # A message whose consumer vanished without acking is delivered again after this.
    broker_transport_options={"visibility_timeout": settings.job_time_limit + 60},
)


class JobTask(app.Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        """Runs in the pool's parent when a job hit its hard time limit and its
        worker process was killed: the child can no longer record the failure."""
        from celery.exceptions import TimeLimitExceeded

        if isinstance(exc, TimeLimitExceeded) and args:
            from cloudgeo.wpsnode.worker import record_timeout

            record_timeout(settings, args[0])


@app.task(name="cloudgeo.run_job", base=JobTask)
def run_job(job_id: str) -> None:
    from cloudgeo.wpsnode.worker import runner

    runner().run(job_id)


@signals.task_received.connect
def note_holder(request=None, **_) -> None:
    """In the node's main process: this node now holds the queued job's message."""
    from cloudgeo.wpsnode.worker import note_queued

    if request is not None and request.args:
        note_queued(settings, request.args[0])


@signals.worker_ready.connect
def announce_node(**_) -> None:
    from cloudgeo.wpsnode.worker import start_node_heartbeat

    start_node_heartbeat(settings)


@signals.worker_process_init.connect
def start_qgis_worker(**_) -> None:
    from cloudgeo.wpsnode.worker import start

    start(settings)


@signals.worker_process_shutdown.connect
def stop_qgis_worker(**_) -> None:
    from cloudgeo.wpsnode.worker import stop

    stop()


def submit(job_id: str, time_limit: float) -> None:
    """Queues a job. Its time limit is a hard one: the pool kills the worker process
    and starts another. (No soft limit: Celery raises it wherever Python happens to
    run, which inside a QGIS progress callback would abort the whole process.)"""
    # The task id is the job id, so a dismiss can revoke it by name.
    run_job.apply_async(args=[job_id], time_limit=time_limit, task_id=job_id)


def stop_running(job_id: str) -> None:
    """Kills the worker process running the job (the pool starts another)."""
    app.control.revoke(job_id, terminate=True, signal="SIGKILL")
