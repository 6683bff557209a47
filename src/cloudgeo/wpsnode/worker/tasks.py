"""What the node's Celery worker runs: the job task and the hooks that give each
pool process its QGIS. `celery -A cloudgeo.wpsnode.worker.tasks:app` starts it."""

from __future__ import annotations

from celery import signals
from celery.exceptions import TimeLimitExceeded

from cloudgeo.wpsnode.jobs.queue import RUN_JOB, app, settings
from cloudgeo.wpsnode.worker import lifecycle

__all__ = ["app"]


class JobTask(app.Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        """Runs in the pool's parent when a job hit its hard time limit and its
        worker process was killed: the child can no longer record the failure."""
        if isinstance(exc, TimeLimitExceeded) and args:
            lifecycle.record_timeout(settings(), args[0])


@app.task(name=RUN_JOB, base=JobTask)
def run_job(job_id: str) -> None:
    lifecycle.runner().run(job_id)


@signals.task_received.connect
def note_holder(request=None, **_) -> None:
    """In the node's main process: this node now holds the queued job's message."""
    if request is not None and request.args:
        lifecycle.note_queued(settings(), request.args[0])


@signals.worker_init.connect
def take_over_previous_run(**_) -> None:
    lifecycle.rescue_previous_run(settings())


@signals.worker_ready.connect
def announce_node(**_) -> None:
    lifecycle.start_node_heartbeat(settings())


@signals.worker_process_init.connect
def start_qgis_worker(**_) -> None:
    lifecycle.start(settings())


@signals.worker_process_shutdown.connect
def stop_qgis_worker(**_) -> None:
    lifecycle.stop()
