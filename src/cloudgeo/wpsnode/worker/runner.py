"""Runs one job for a Celery worker: inputs in, the QGIS process, outputs out.

The worker (this process) holds the credentials: it fetches the inputs into the job's
folder, hands the job to its confined QGIS process (worker/qgis_process.py), watches
the job's scratch against its cap, then checks and uploads what the results name.
The plan it follows was checked by cloudgeo.wpsnode.inputs.planning in the HTTP tier.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import redis

from cloudgeo.common.processes import pid_alive
from cloudgeo.storage.files import stored_file_metadata
from cloudgeo.storage.names import content_type_for, new_id
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode import metrics
from cloudgeo.wpsnode.catalog.models import MODEL, children_problem, identifier_parts
from cloudgeo.wpsnode.catalog.policy import GUARDED_URL_PARAMETERS
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.cache import InputCache
from cloudgeo.wpsnode.inputs.expression_guard import expression_problem
from cloudgeo.wpsnode.inputs.fetch import Fetcher
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, host_port
from cloudgeo.wpsnode.inputs.unpack import find_layers, safe_extract
from cloudgeo.wpsnode.jobs.keys import node_alive_key
from cloudgeo.wpsnode.jobs.record import DISMISSED, FAILED, FINISHED, RUNNING, SUCCEEDED
from cloudgeo.wpsnode.jobs.store import MAX_LOG_LINES, JobStore
from cloudgeo.wpsnode.settings import WpsSettings
from cloudgeo.wpsnode.worker.progress import LOG_LINE_CHARS
from cloudgeo.wpsnode.worker.qgis_process import (
    QgisProcess,
    QgisProcessDied,
    ScratchCapExceeded,
    WorkerFolders,
)
from cloudgeo.wpsnode.worker.redact import redact_paths

log = logging.getLogger(__name__)
# Exit status of a worker whose QGIS process died mid-job: Celery then queues the job
# again (acks late, reject on worker lost), and the runner counts the attempt.
QGIS_DIED_EXIT = 70
# The spare QGIS process starts this many jobs before the current one's last, so that
# it is ready (1.5-3 s) by then.
RENEW_AHEAD = 5


class JobFailed(Exception):
    def __init__(self, failure: str, message: str) -> None:
        super().__init__(message)
        self.failure, self.message = failure, message


class JobRunner:
    def __init__(self, settings: WpsSettings, client: redis.Redis, heartbeat,
                 folders: WorkerFolders, qgis: QgisProcess) -> None:
        self.settings = settings
        self.jobs = JobStore(client, settings.result_ttl)
        self.heartbeat = heartbeat
        self.catalog = settings.load_catalog()
        self.builtins = settings.builtins()
        self.store = ObjectStore(settings.s3)
        own = frozenset({host_port(settings.public_url), host_port(settings.file_service_url)})
        self.fetcher = Fetcher(HrefPolicy.from_urls(settings.allowed_hosts), own, self.store,
                               settings.max_input_size, settings.fetch_timeout)
        self.folders, self.qgis = folders, qgis
        self.work_root = folders.jobs
        self.inputs = InputCache(folders.inputs, settings.input_cache_entries,
                                 settings.input_cache_bytes,
                                 lambda result: metrics.INPUT_CACHE.labels(result).inc())
        self.cache_tokens = itertools.count()
        self.final_log: list[str] = []  # the job's last log lines, written as it ends

    def run(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is not None:  # a late delivery of a job that outlived its deadline ends
            record = self.jobs.fail_overdue(record)
        if record is None or record.status in FINISHED:
            return  # expired, dismissed, or already finished by an earlier delivery
        if record.status == RUNNING and self._running_elsewhere(record):
            return  # a duplicate delivery (a rescued job's old message) of a live run
        attempts = record.attempts + 1
        if attempts > self.settings.max_attempts:
            self._finish(record.identifier, job_id, 0.0, FAILED, failure="crashed",
                         message=f"the job's worker process died {record.attempts} times "
                                 "while running it; it is not retried again")
            return
        started = time.time()
        limit = record.timeLimit or self.settings.job_time_limit
        self.jobs.update(job_id, status=RUNNING, started=started, attempts=attempts,
                         node=self.settings.node_id, deadline=started + limit, timeLimit=limit,
                         worker=f"{self.settings.node_id}/{self.heartbeat.pid}",
                         percentCompleted=0, message="running")
        self.heartbeat.busy_with = job_id
        if self.qgis.spare is not None:
            self.qgis.renew()  # a spare made ready since the last job takes this one
        folder = self.work_root / job_id
        self.final_log = []
        if attempts > 1:
            self.jobs.append_log(job_id, [f"INFO: attempt {attempts} of this job, on node "
                                          f"{self.settings.node_id} (an earlier worker died "
                                          "while running it)"])
        try:
            status, fields = self._attempt(record.identifier, record.plan, folder, job_id,
                                           record.owner)
        finally:
            # Before the record says the job ended: nothing of it outlives its answer.
            self.qgis.empty_scratch(folder)
            self.heartbeat.busy_with = None
            self.heartbeat.jobs_done += 1
        self._finish(record.identifier, job_id, started, status, log=self.final_log,
                     **fields)
        self._renew_qgis()

    def _renew_qgis(self) -> None:
        """QGIS grows with use: past its job count or its memory, its process is renewed
        between jobs, a spare started ahead so that no job waits for QGIS to start
        (QgisProcess.renew). Celery's own worker is not recycled for it."""
        jobs = self.qgis.jobs_done
        limit = self.settings.max_jobs_per_worker
        if (jobs >= max(1, limit - RENEW_AHEAD) or self.qgis.spare is not None
                or self.qgis.resident_mb() > self.settings.max_worker_memory_mb):
            self.qgis.renew()

    def _attempt(self, identifier: str, plan: dict, folder: Path, job_id: str,
                 owner: str | None) -> tuple[str, dict[str, Any]]:
        """The job's end: its status and the record's fields to say it."""
        try:
            output = self._execute(identifier, plan, folder, job_id, owner)
        except JobFailed as exc:
            return FAILED, {"failure": exc.failure, "message": exc.message}
        except InputError as exc:
            return FAILED, {"failure": "input", "failureField": exc.name,
                            "message": exc.message}
        except QgisProcessDied:
            # As if QGIS had crashed in this process: Celery queues the job again.
            log.error("the QGIS process died while running job %s", job_id)
            self.qgis.empty_scratch(folder)
            os._exit(QGIS_DIED_EXIT)
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job_id)
            return FAILED, {"failure": "internal",
                            "message": f"internal error: {type(exc).__name__}: {exc}"}
        return SUCCEEDED, {"output": output, "percentCompleted": 100,
                           "message": f"Process {identifier} finished"}

    def _running_elsewhere(self, record) -> bool:
        """Whether another live worker runs this job (so this delivery is a duplicate)."""
        if record.node != self.settings.node_id:
            return bool(self.jobs.redis.exists(node_alive_key(record.node)))
        pid = int(record.worker.rsplit("/", 1)[-1] or 0) if record.worker else 0
        if not pid or pid == self.heartbeat.pid:
            return False
        # Same node, same host: a dead worker means Celery gave us its job back.
        return pid_alive(pid)

    def _finish(self, identifier: str, job_id: str, started: float, status: str,
                log: list[str] | None = None, **fields: Any) -> None:
        if self.jobs.status(job_id) == DISMISSED:
            return  # dismissed while it ran: the caller no longer wants the result
        if "message" in fields:
            fields["message"] = redact_paths(fields["message"], self.work_root / job_id)
        self.jobs.finish(job_id, log=log, status=status, **fields)
        metrics.JOBS.labels(identifier, status).inc()
        if started:
            metrics.JOB_DURATION.labels(identifier).observe(time.time() - started)

    # -- the job itself ------------------------------------------------------
    def _execute(self, identifier: str, plan: dict, folder: Path, job_id: str,
                 owner: str | None) -> dict:
        """Runs the job; its outputs (stored as `owner`'s files) by name."""
        if plan.get("builtin"):
            # Only the OGC adapter makes such plans, for the node's builtin processes.
            builtin = self.builtins.get(identifier)
            if builtin is None:  # nodes sharing a queue publish different builtins
                raise JobFailed("execution", f"the builtin process {identifier} is not "
                                             f"enabled on node {self.settings.node_id}")
            return builtin.run(plan["literals"])
        model = plan.get("model")
        if model is not None:
            process = self._model_process(identifier, model)
        else:
            process = self.catalog.get(identifier)  # published ones only: the policy holds here too
        problem = expression_problem(plan["literals"])
        if problem:
            raise InputError(*problem)
        if identifier in GUARDED_URL_PARAMETERS:  # the node fetches, through its guard
            return self._download(process, plan, folder, owner)
        read_only = {i["name"] for i in process["inputs"] if i.get("type") == "source"}
        layers = {}
        for name, ref in plan["references"].items():
            items = [self._materialize(name, ref["kind"], item, folder / "in" / name / str(i),
                                       name in read_only)
                     for i, item in enumerate(ref["items"])]
            layers[name] = {"multiple": ref["multiple"], "items": items}
        destinations = {name: self._destination(folder / "out", name, fmt)
                        for name, fmt in plan["destinations"].items()}
        answer = self._run_in_qgis(job_id, {
            "identifier": identifier, "literals": plan["literals"], "layers": layers,
            "destinations": {name: str(path) for name, path in destinations.items()},
            "cached": [entry.layer["cache"] for entry in self.inputs.entries.values()],
            **({"model": {k: model[k] for k in ("kind", "name", "content")}}
               if model is not None else {})})
        if answer.get("error") == "input":
            raise InputError(str(answer["field"]), str(answer["message"]))
        if "results" not in answer:
            raise JobFailed("execution", f"{identifier} failed: {answer.get('message')}")
        missing = [name for name, path in destinations.items() if not path.exists()]
        if missing:  # external tools can fail without QGIS raising
            detail = answer.get("detail") or "no error message"
            raise JobFailed("execution", f"{identifier} failed: it produced no "
                                         f"{', '.join(missing)} ({detail})")
        return self._publish(process, answer["results"], destinations, plan, identifier,
                             owner)

    def _model_process(self, identifier: str, model: dict) -> dict:
        """The description of the model or script a job carries, checked again against
        this worker's policy: a model calls only algorithms published here."""
        parts = identifier_parts(identifier)
        if parts != (model.get("kind"), model.get("name")):
            raise JobFailed("execution", f"the job's model does not match {identifier}")
        if model["kind"] == MODEL:
            problem = children_problem(model.get("steps", []), self.catalog.processes)
            if problem:
                raise JobFailed("execution", f"{identifier} is not published here: {problem}")
        return model["process"]

    def _run_in_qgis(self, job_id: str, job: dict[str, Any]) -> dict[str, Any]:
        cap = self.settings.max_job_scratch
        try:
            answer = self.qgis.run(
                job, lambda percent: self.jobs.update(job_id, percentCompleted=percent), cap,
                lambda lines: self.jobs.append_log(job_id, self._log_lines(job_id, lines)))
            self.final_log = self._log_lines(job_id, answer.pop("log", None) or [])
            return answer
        except ScratchCapExceeded as exc:
            raise JobFailed("limit", f"the job wrote {exc.used} bytes of scratch, past its "
                                     f"cap of {cap} bytes (CLOUDGEO_WPS_MAX_JOB_SCRATCH); "
                                     "it was stopped") from None

    def _log_lines(self, job_id: str, lines: Any) -> list[str]:
        """Log lines from the QGIS process as the caller may read them: text, bounded,
        without the node's paths (the QGIS process is not trusted to have done so)."""
        if not isinstance(lines, list):
            return []
        return [redact_paths(str(line)[:LOG_LINE_CHARS], self.work_root / job_id)
                for line in lines[:MAX_LOG_LINES]]

    def _download(self, process: dict, plan: dict, folder: Path, owner: str | None) -> dict:
        """native:filedownloader, done by the node's fetcher: the URL passes the same
        guard as input hrefs (scheme, allow-list, addresses, size cap, no redirects)."""
        identifier = process["id"]
        name = GUARDED_URL_PARAMETERS[identifier]
        fetched = self.fetcher.fetch(name, plan["literals"][name], folder / "download")
        formats = {d["name"]: plan["destinations"].get(d["name"], d["formats"][0])
                   for d in process["destinations"]}
        destinations = {out: self._destination(folder / "out", out, fmt)
                        for out, fmt in formats.items()}
        for target in destinations.values():
            shutil.copyfile(fetched, target)
        return self._publish(process, {}, destinations, {**plan, "destinations": formats},
                             identifier, owner)

    def _materialize(self, name: str, kind: str, item: dict, folder: Path,
                     read_only: bool = False) -> dict[str, Any]:
        """The input as the QGIS process gets it: a file in the job's folder (or, for a
        read-only input from our own file service, in this worker's cache:
        cloudgeo.wpsnode.inputs.cache), which it checks and opens."""
        stored = None
        if "href" in item and read_only and self.inputs.enabled:
            stored = self.fetcher.stored(name, item["href"])
        if stored is None:
            folder.mkdir(parents=True, exist_ok=True)
            return self._layer(name, kind, item, folder)
        cached = self.inputs.get(stored.version)
        if cached is not None:
            return cached
        target = self.inputs.folder_for(stored.version)
        try:
            layer = self._layer(name, kind, item, target, stored)
        except BaseException:
            self.inputs.discard(target)
            raise
        # A token per fetch: the QGIS process keeps the layer it opened under it.
        layer["cache"] = f"{stored.version}-{next(self.cache_tokens)}"
        self.inputs.put(stored.version, target, layer)
        return layer

    def _layer(self, name: str, kind: str, item: dict, folder: Path,
               stored=None) -> dict[str, Any]:
        if "geojson" in item:
            path = folder / "inline.geojson"
            path.write_text(json.dumps(item["geojson"]))
        else:
            path = self.fetcher.fetch(name, item["href"], folder, stored)
        if zipfile.is_zipfile(path) and kind != "file":
            unpacked = folder / "unpacked"
            safe_extract(path, unpacked, name, self.settings.max_unzipped_size,
                         self.settings.max_zip_files)
            found = find_layers(unpacked, kind)
            if not found:
                raise InputError(name, f"the zip from {item.get('href')} holds no {kind} layer")
            path = found[0]
        return {"path": str(path), "kind": kind, "origin": item.get("href", "inline GeoJSON"),
                "cache": None}

    @staticmethod
    def _destination(folder: Path, name: str, fmt: str) -> Path:
        # A model's outputs are named CHILD:OUTPUT, and QGIS reads "a:b" as provider:uri.
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        if fmt == "shp":  # a shapefile's sidecars are gathered in a folder, zipped later
            (folder / name).mkdir(parents=True, exist_ok=True)
            return folder / name / f"{name}.shp"
        if fmt == "zip":  # folder outputs
            (folder / name).mkdir(parents=True, exist_ok=True)
            return folder / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}.{fmt}"

    def _publish(self, process: dict, results: dict, destinations: dict[str, Path],
                 plan: dict, identifier: str, owner: str | None) -> dict[str, Any]:
        files: dict[str, tuple[Path, str]] = {}
        for out in process["outputs"]:
            name = out["name"]
            if name in destinations:
                path = destinations[name]
                fmt = plan["destinations"][name]
                if path.suffix == ".shp" or fmt == "zip":
                    path = _zip_folder(path if fmt == "zip" else path.parent, self.folders.root)
                    fmt = "zip"
                files[name] = (path, fmt)
        # Every file is checked before any is uploaded: a job past a cap stores nothing.
        for name, (path, _) in files.items():
            self._check_output(name, path)
        output: dict[str, Any] = {}
        for out in process["outputs"]:
            name = out["name"]
            if name in files:
                output[name] = self._upload(*files[name], identifier, name, owner)
            elif name in results:
                output[name] = self._literal(results[name], identifier, name, owner)
        return output

    def _check_output(self, name: str, path: Path) -> None:
        if not _inside(path, self.folders.root):
            raise JobFailed("execution", f"output {name} is not a file the job wrote")
        size = path.stat().st_size
        cap = self.settings.max_output_size
        if size > cap:
            raise JobFailed("limit", f"output {name} is {size} bytes, past the cap of {cap} "
                                     "bytes on each output (CLOUDGEO_WPS_MAX_OUTPUT_SIZE)")

    def _literal(self, value: Any, identifier: str, name: str, owner: str | None) -> Any:
        if isinstance(value, str) and value and Path(value).is_file():
            path = Path(value)
            if not _inside(path, self.folders.root):
                return None  # a file the job did not write (a system file) is never sent
            self._check_output(name, path)
            return self._upload(path, path.suffix.lstrip(".").lower() or "bin", identifier, name,
                                owner)
        if isinstance(value, list):
            return [self._literal(v, identifier, name, owner) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return str(value)

    def _upload(self, path: Path, fmt: str, identifier: str, name: str,
                owner: str | None) -> str:
        file_id = new_id()
        original = f"{identifier.replace(':', '-')}-{name}.{fmt}"
        self.store.put_file(file_id, str(path), content_type_for(fmt),
                            stored_file_metadata(fmt, original, owner))
        return self.settings.retrieve_url(f"{file_id}.{fmt}")


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path`, links resolved, is a regular file below `folder`: the QGIS process
    writes the job's files, so a link it made to /etc/passwd must not be uploaded."""
    real = Path(os.path.realpath(path))
    return real.is_file() and real.is_relative_to(os.path.realpath(folder))


def _zip_folder(folder: Path, root: Path) -> Path:
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for item in sorted(folder.rglob("*")):
            if not item.is_symlink() and _inside(item, root):
                bundle.write(item, item.relative_to(folder))
    return archive
