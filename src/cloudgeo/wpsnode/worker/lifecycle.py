"""Life of one QGIS worker process: start QGIS, heartbeat into Redis, run jobs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import redis

from cloudgeo.common.processes import pid_alive
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode import metrics
from cloudgeo.wpsnode.jobs.keys import node_alive_key, starts_key, workers_key
from cloudgeo.wpsnode.jobs.outputs import remove_files
from cloudgeo.wpsnode.jobs.queue import submit
from cloudgeo.wpsnode.jobs.record import FAILED, FINISHED
from cloudgeo.wpsnode.jobs.store import JobStore, redis_client
from cloudgeo.wpsnode.jobs.watchdog import Watchdog
from cloudgeo.wpsnode.settings import WpsSettings
from cloudgeo.wpsnode.worker.qgis_process import QgisProcess, WorkerFolders, start_message

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL = 15
# The node's own heartbeat decides when its jobs are rescued: short, so a dead
# node's jobs move on within seconds.
NODE_HEARTBEAT_SECONDS = 1
NODE_HEARTBEAT_TTL = 4
SWEEP_EVERY_BEATS = 5

_runner = None
_heartbeat: Heartbeat | None = None


class Heartbeat(threading.Thread):
    """Announces this worker (and whether it is busy) under the node's key; never touches QGIS."""

    def __init__(self, client: redis.Redis, node_id: str) -> None:
        super().__init__(daemon=True, name="heartbeat")
        self.client, self.node_id, self.pid = client, node_id, os.getpid()
        self.busy_with: str | None = None
        self.jobs_done = 0
        self.stopping = threading.Event()

    def beat(self) -> None:
        value = json.dumps({"busy": self.busy_with is not None, "job": self.busy_with,
                            "jobs": self.jobs_done})
        self.client.set(f"{workers_key(self.node_id)}:{self.pid}", value, ex=HEARTBEAT_TTL)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.beat()
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)
            self.stopping.wait(HEARTBEAT_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(redis.RedisError):
            self.client.delete(f"{workers_key(self.node_id)}:{self.pid}")


def worker_folders(settings: WpsSettings) -> WorkerFolders:
    """This worker process's folder (removed with it, or by its replacement)."""
    return WorkerFolders(settings.state_dir / "workers" / str(os.getpid()))


def remove_dead_workers_folders(settings: WpsSettings) -> list[Path]:
    """The folders (QGIS state, jobs' scratch, cached inputs) of this node's workers that
    died without cleaning up: killed at a time limit, by a dismiss, or by a crash. A
    replacement worker starts at once, so it is the one to remove them."""
    removed = []
    for folder in sorted((settings.state_dir / "workers").glob("*")):
        if folder.name.isdigit() and not pid_alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def start(settings: WpsSettings) -> None:
    """worker_process_init: the confined QGIS process first, then announce readiness."""
    global _runner, _heartbeat
    from cloudgeo.wpsnode.inputs.layer_formats import allowed_drivers
    from cloudgeo.wpsnode.worker.runner import JobRunner

    for folder in remove_dead_workers_folders(settings):
        log.info("removed %s, left by a worker that died", folder)
    folders = worker_folders(settings)
    client = redis_client(settings.redis_url)
    qgis = QgisProcess(folders, start_message(
        folders, allowed_drivers(settings.input_formats_include), settings.max_job_scratch,
        settings.sandbox), on_start=lambda: client.incr(starts_key(settings.node_id)))
    qgis.start()
    _heartbeat = Heartbeat(client, settings.node_id)
    _runner = JobRunner(settings, client, _heartbeat, folders, qgis)
    _heartbeat.beat()
    _heartbeat.start()
    log.info("QGIS worker %s ready (QGIS process %s)", os.getpid(), qgis.pid)


def stop() -> None:
    if _heartbeat is not None:
        _heartbeat.stop()
    if _runner is not None:
        _runner.qgis.stop()
        shutil.rmtree(_runner.folders.root, ignore_errors=True)


def runner():
    if _runner is None:
        raise RuntimeError("this process is not a started QGIS worker")
    return _runner


def record_timeout(settings: WpsSettings, job_id: str) -> None:
    """Fails a job whose worker the pool killed at its time limit (runs in the pool parent)."""
    jobs = JobStore(redis_client(settings.redis_url), settings.result_ttl)
    record = jobs.get(job_id)
    if record is None or record.status in FINISHED:
        return
    jobs.finish(job_id, status=FAILED, failure="timeout",
                message=f"the job exceeded its time limit of {record.timeLimit:g} s; its "
                        "worker process was stopped and replaced")
    metrics.JOBS.labels(record.identifier, FAILED).inc()


def node_watchdog(settings: WpsSettings, client: redis.Redis) -> Watchdog:
    return Watchdog(client, JobStore(client, settings.result_ttl), settings.max_attempts,
                    lambda record: submit(record.jobId, record.timeLimit, record.queue),
                    settings.queue)


def rescue_previous_run(settings: WpsSettings) -> None:
    """In the Celery main process, before it consumes: the jobs this node id held when
    its previous run died go back to the queue (see Watchdog.rescue_left_by)."""
    rescued = node_watchdog(settings, redis_client(settings.redis_url)).rescue_left_by(
        settings.node_id)
    if rescued:
        log.info("queued again %d job(s) this node's previous run left behind", rescued)


def start_node_heartbeat(settings: WpsSettings) -> threading.Thread:
    """In the Celery main process (which runs no QGIS, so this thread always gets
    its turn): announces that the node lives, and every few seconds sweeps for jobs
    that a dead node left behind."""
    client = redis_client(settings.redis_url)
    key = node_alive_key(settings.node_id)
    watchdog = node_watchdog(settings, client)
    jobs = watchdog.jobs
    store = ObjectStore(settings.s3)

    def remove_expired_outputs() -> None:
        # Job records expire by themselves (Redis TTL); their output files are ours to remove.
        expired = jobs.expired_files(time.time())
        remove_files(store, expired)
        jobs.forget_files(expired)
        jobs.trim_indexes(time.time())

    def beat() -> None:
        beats = 0
        while True:
            try:
                client.set(key, "1", ex=NODE_HEARTBEAT_TTL)
                beats += 1
                if beats % SWEEP_EVERY_BEATS == 0:
                    if watchdog.sweep():
                        log.info("queued again jobs that a dead node left behind")
                    remove_expired_outputs()
            except Exception as exc:
                log.warning("node heartbeat failed: %s", exc)
            threading.Event().wait(NODE_HEARTBEAT_SECONDS)

    thread = threading.Thread(target=beat, daemon=True, name="node-heartbeat")
    thread.start()
    return thread


_main_store: JobStore | None = None


def note_queued(settings: WpsSettings, job_id: str) -> None:
    """In the Celery main process, before the job goes to a QGIS worker: one command."""
    global _main_store
    if _main_store is None:
        _main_store = JobStore(redis_client(settings.redis_url))
    _main_store.update(job_id, queuedOn=settings.node_id)
