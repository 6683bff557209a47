"""The QGIS process: opens a job's layers and runs its algorithm, confined, holding no secret.

A layer file is a program too (a GDAL VRT reads any file, a WMS description sends
requests), so QGIS does not run in the Celery worker process that holds the node's
credentials and talks to Redis and S3. Each Celery worker starts one of these as a
fresh interpreter (spawned, not forked: a fork would copy the credentials it holds),
which starts QGIS once and then, before it touches any job, confines itself for good
(`sandbox.enter`): it reads only system files and writes only its worker's folder, it
can open no socket, trace no process and read no /proc entry. Jobs arrive over a pipe
as JSON (never pickle: the worker must not run what a subverted QGIS process sends it),
with every input already fetched into the job's folder; progress and results go back
the same way, and the worker uploads what the results name (`runner.JobRunner`).

Run as `python -m cloudgeo.wpsnode.worker.executor READ_FD WRITE_FD WORKER_PID` (the
worker's pid: the process exits at once if its worker is already gone).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1
# GDAL's configuration in the QGIS process and the tools it runs (gdal_translate, GRASS,
# OTB inherit the environment): no .aux.xml sidecar read (it may hold metadata that
# names other files), no SpatiaLite in SQLite-based files (its VirtualText table reads
# any file). Reviewed with the driver table (inputs/gdal-drivers.tsv).
GDAL_HARDENING = {"GDAL_PAM_ENABLED": "NO", "SPATIALITE_LOAD": "NO"}


def _die_with_parent(parent: int) -> None:
    """The worker holds this process's only purpose: if it dies (a job's time limit,
    a dismiss, a crash), so does QGIS, at once."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # died before the line above took effect
        os._exit(1)


class Channel:
    """JSON messages over the pipe pair; `send` is safe from the progress thread."""

    def __init__(self, reader: Connection, writer: Connection) -> None:
        self.reader, self.writer = reader, writer
        self.lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        with self.lock:
            self.writer.send_bytes(data)

    def receive(self) -> dict[str, Any]:
        return json.loads(self.reader.recv_bytes())


def plain(value: Any) -> Any:
    """A result value as JSON can carry it (QGIS may return its own types)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


class QgisExecutor:
    """Runs jobs in this (confined) process; layers opened for cacheable inputs are kept
    while the worker keeps their files."""

    def __init__(self, channel: Channel, allowed_drivers: frozenset[str]) -> None:
        self.channel, self.allowed_drivers = channel, allowed_drivers
        self.opened: dict[str, Any] = {}  # cache token -> opened layer

    def serve(self) -> None:
        while True:
            try:
                job = self.channel.receive()
            except EOFError:
                return
            self.channel.send(self.run(job))

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        from cloudgeo.wpsnode.catalog.describe_models import ModelError
        from cloudgeo.wpsnode.errors import InputError

        # Layers whose cached files the worker dropped are released before anything else.
        for token in set(self.opened) - set(job.get("cached", [])):
            del self.opened[token]
        try:
            params: dict[str, Any] = dict(job["literals"])
            for name, layers in job["layers"].items():
                opened = [self._layer(name, layer) for layer in layers["items"]]
                params[name] = opened if layers["multiple"] else opened[0]
            params.update(job["destinations"])
            algorithm = job["identifier"]
            if job.get("model"):  # a model or script, built from the source the job carries
                algorithm = self._built(job["model"])
            return self._process(algorithm, params)
        except InputError as exc:
            return {"error": "input", "field": exc.name, "message": exc.detail}
        except ModelError as exc:
            return {"error": "execution", "message": str(exc)}

    def _built(self, model: dict[str, Any]):
        """The QGIS algorithm of a model or script (built from its text: no file is read,
        so the confinement stays as it is)."""
        from cloudgeo.wpsnode.catalog.describe_models import build_algorithm

        return build_algorithm(model["kind"], model["name"], model["content"])

    def _layer(self, name: str, layer: dict[str, Any]) -> Any:
        from cloudgeo.wpsnode.inputs.layer_formats import open_layer

        token = layer.get("cache")
        if token and token in self.opened:
            return self.opened[token]
        opened = open_layer(name, layer["kind"], layer["path"], layer["origin"],
                            self.allowed_drivers)
        if token:
            self.opened[token] = opened
        return opened

    def _process(self, identifier, params: dict[str, Any]) -> dict[str, Any]:
        """`identifier`: an algorithm's id, or a model's or script's algorithm object."""
        import processing
        from qgis.core import QgsProcessingContext, QgsProcessingException

        from cloudgeo.wpsnode.worker.progress import ProgressReporter, job_feedback

        feedback = job_feedback()
        try:
            with ProgressReporter(feedback, lambda percent: self.channel.send(
                    {"progress": percent}), report_log=lambda lines: self.channel.send(
                    {"log": lines})):
                results = processing.run(identifier, params, context=QgsProcessingContext(),
                                         feedback=feedback)
        except QgsProcessingException as exc:
            return {"error": "execution", "message": feedback.failure_detail() or str(exc),
                    "log": feedback.log.take(final=True)}
        return {"results": plain(results), "detail": feedback.failure_detail(),
                "log": feedback.log.take(final=True)}


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    read_fd, write_fd = int(argv[0]), int(argv[1])
    _die_with_parent(int(argv[2]))
    channel = Channel(Connection(read_fd, writable=False), Connection(write_fd, readable=False))
    start = channel.receive()  # what the worker decided: folder, sandbox, formats
    from cloudgeo.wpsnode.qgis_runtime import start_qgis
    from cloudgeo.wpsnode.worker import sandbox

    folder = Path(start["folder"])
    os.environ.update(GDAL_HARDENING)
    # QGIS and GRASS write under HOME: the QGIS process's own folder, not the node's.
    (folder / "home").mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(folder / "home")
    # Confined before QGIS starts: Landlock binds only the threads that exist and those
    # they start later, and QGIS starts several.
    policy = sandbox.SandboxPolicy(read_only=tuple(start["read_only"]),
                                   read_write=tuple(start["read_write"]),
                                   max_file_size=start["max_file_size"])
    protections = sandbox.enter(policy)
    # A file past RLIMIT_FSIZE ends this process (the worker reports the scratch cap)
    # rather than failing a write that SQLite would roll back and hide.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    missing = sandbox.required_missing(protections, start["required"])
    if missing:
        channel.send({"ready": False, "refused": missing})
        sys.exit(3)
    start_qgis(folder)
    channel.send({"ready": True, "missing": protections.missing(),
                  "landlock": protections.landlock_abi})
    QgisExecutor(channel, frozenset(start["allowed_drivers"])).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
