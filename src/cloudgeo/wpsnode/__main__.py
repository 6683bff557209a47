"""`python -m cloudgeo.wpsnode`: one WPS node, i.e. gunicorn plus a pool of QGIS workers.

The Celery worker pool runs as a child in this process group, so the node,
its HTTP workers and its QGIS workers live and die together.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading

import redis

from cloudgeo.common.managed_processes import ManagedProcess
from cloudgeo.common.metrics import reset_multiprocess_dir
from cloudgeo.common.secrets import hand_over
from cloudgeo.common.server import serve
from cloudgeo.registry.names import WPS_SERVICE
from cloudgeo.wpsnode.jobs.keys import starts_key
from cloudgeo.wpsnode.settings import WpsSettings

log = logging.getLogger("cloudgeo.wpsnode")


def ensure_catalog(settings: WpsSettings) -> None:
    """Describes every algorithm once (QGIS in a short-lived process) if not done yet."""
    if settings.catalog_path.exists():
        return
    log.info("describing the QGIS algorithms into %s", settings.catalog_path)
    settings.catalog_path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "cloudgeo.wpsnode.catalog",
                    str(settings.catalog_path), str(settings.state_dir / "catalog-qgis")],
                   check=True)


def celery_worker(settings: WpsSettings) -> ManagedProcess:
    """The QGIS worker pool, started without credentials in its environment (they come
    through a file it deletes at once: cloudgeo.common.secrets)."""
    env = hand_over(os.environ, settings.state_dir / "handover")
    argv = [sys.executable, "-m", "celery", "-A", "cloudgeo.wpsnode.worker.tasks:app",
            "worker", "--pool=prefork", f"--concurrency={settings.qgis_workers}",
            f"--hostname={settings.node_id}@%h", f"--queues={settings.queue}",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    return ManagedProcess("qgis-workers", argv, None, env=env, new_session=False)


def check_sandbox(settings: WpsSettings) -> None:
    """Refuses to start a node whose QGIS processes could not be confined as the
    CLOUDGEO_WPS_SANDBOX setting requires (docs/security.md); logs what is missing."""
    from cloudgeo.wpsnode.worker import sandbox
    from cloudgeo.wpsnode.worker.qgis_process import REQUIRED_PROTECTIONS

    protections = sandbox.available()
    refused = sandbox.required_missing(protections, REQUIRED_PROTECTIONS[settings.sandbox])
    for missing in protections.missing():
        log.warning("QGIS processes will run without this protection: %s", missing)
    if refused:
        raise SystemExit("CLOUDGEO_WPS_SANDBOX=required, and this machine cannot confine "
                         f"QGIS processes: {' '.join(refused)} (best-effort runs them with "
                         "what it offers)")
    log.info("QGIS processes are confined (Landlock ABI %d, seccomp %s)",
             protections.landlock_abi, "on" if protections.seccomp else "off")


def log_publication(settings: WpsSettings) -> None:
    catalog = settings.load_catalog()
    for identifier, reason in sorted(catalog.overridden().items()):
        log.warning("publishing %s, withheld by default (%s), because "
                    "CLOUDGEO_WPS_PROCESSES_INCLUDE names it", identifier, reason)
    log.info("%d of %d algorithms published", len(catalog.processes), len(catalog.decisions))


def watch_models(settings: WpsSettings) -> threading.Event:
    """Publishes the operator's models and scripts before the node serves, then follows
    their folder (a thread of this process; the HTTP workers read what it writes)."""
    from cloudgeo.wpsnode.jobs.models import FolderModels, models_file

    if settings.models_folder is None:  # none: nothing left of an earlier setting
        models_file(settings.state_dir).unlink(missing_ok=True)
        return threading.Event()
    folder = FolderModels(settings.models_folder, settings.state_dir, settings.max_model_size,
                          settings.publication_policy(), settings.load_catalog())
    folder.refresh()
    return folder.start()


def main() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = WpsSettings.from_env()
    check_sandbox(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    for leftover in ("workers", "jobs", "handover"):  # from a node that was killed
        shutil.rmtree(settings.state_dir / leftover, ignore_errors=True)
    ensure_catalog(settings)
    log_publication(settings)
    models = watch_models(settings)
    # The QGIS workers write job metrics into the same directory the HTTP workers
    # expose, so it is prepared before either starts.
    reset_multiprocess_dir(settings.server.metrics_dir)
    redis.Redis.from_url(settings.redis_url).delete(starts_key(settings.node_id))
    workers = celery_worker(settings).start()

    def app_factory():
        # In each HTTP worker, before it serves: the app (PyWPS and its processes
        # included) and the Celery queue, which otherwise the first job would import.
        from cloudgeo.wpsnode.api.app import create_app
        from cloudgeo.wpsnode.api.ogc.callback_delivery import start_deliveries
        from cloudgeo.wpsnode.jobs import queue  # noqa: F401

        app = create_app(settings)
        # Long-lived and never running QGIS: where callbacks are posted from (each
        # worker claims its own; any node's may deliver any job's).
        start_deliveries(settings)
        return app

    try:
        serve(app_factory, settings.server, reset_metrics=False,
              registration=(WPS_SERVICE, settings.node_id))
    finally:
        models.set()
        workers.stop()


if __name__ == "__main__":
    main()
