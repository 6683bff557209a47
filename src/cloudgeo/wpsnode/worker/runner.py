"""Runs one job inside a QGIS worker: inputs in, processing.run, outputs out.

Everything QGIS-specific about a job lives here; the plan it follows was
checked by cloudgeo.wpsnode.inputs.planning in the HTTP tier.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import redis

from cloudgeo.common.processes import pid_alive
from cloudgeo.fileservice.names import content_type_for, new_id
from cloudgeo.storage.files import stored_file_metadata
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode import metrics
from cloudgeo.wpsnode.catalog.policy import GUARDED_URL_PARAMETERS
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.cache import InputCache
from cloudgeo.wpsnode.inputs.expression_guard import expression_problem
from cloudgeo.wpsnode.inputs.fetch import Fetcher
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, host_port
from cloudgeo.wpsnode.inputs.unpack import find_layers, safe_extract
from cloudgeo.wpsnode.jobs.keys import node_alive_key
from cloudgeo.wpsnode.jobs.record import DISMISSED, FAILED, FINISHED, RUNNING, SUCCEEDED
from cloudgeo.wpsnode.jobs.store import JobStore
from cloudgeo.wpsnode.settings import WpsSettings
from cloudgeo.wpsnode.worker.progress import ProgressReporter
from cloudgeo.wpsnode.worker.redact import redact_paths

log = logging.getLogger(__name__)


class JobFailed(Exception):
    def __init__(self, failure: str, message: str) -> None:
        super().__init__(message)
        self.failure, self.message = failure, message


def _feedback():
    """A QgsProcessingFeedback that keeps errors (its progress is read by a
    ProgressReporter)."""
    from qgis.core import QgsProcessingFeedback

    class JobFeedback(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[str] = []
            self.console: list[str] = []

        def reportError(self, error: str, fatalError: bool = False) -> None:
            self.errors.append(error.strip())
            super().reportError(error, fatalError)

        def pushConsoleInfo(self, info: str) -> None:
            # External tools (GDAL, GRASS, OTB) report their failures only here.
            self.console = [*self.console[-19:], info.strip()]
            super().pushConsoleInfo(info)

        def failure_detail(self) -> str:
            lines = [e for e in self.errors if e] or [line for line in self.console if line]
            return "; ".join(lines[-5:])

    return JobFeedback()


class JobRunner:
    def __init__(self, settings: WpsSettings, client: redis.Redis, heartbeat,
                 input_cache_dir: Path) -> None:
        self.settings = settings
        self.jobs = JobStore(client, settings.result_ttl)
        self.heartbeat = heartbeat
        self.catalog = settings.load_catalog()
        self.builtins = settings.builtins()
        self.store = ObjectStore(settings.s3)
        own = frozenset({host_port(settings.public_url), host_port(settings.file_service_url)})
        self.fetcher = Fetcher(HrefPolicy.from_urls(settings.allowed_hosts), own, self.store,
                               settings.max_input_size, settings.fetch_timeout)
        self.work_root = settings.state_dir / "jobs"
        self.inputs = InputCache(input_cache_dir, settings.input_cache_entries,
                                 settings.input_cache_bytes,
                                 lambda result: metrics.INPUT_CACHE.labels(result).inc())

    def run(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
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
        folder = self.work_root / job_id
        try:
            output = self._execute(record.identifier, record.plan, folder, job_id)
        except JobFailed as exc:
            self._finish(record.identifier, job_id, started, FAILED, failure=exc.failure,
                         message=exc.message)
        except InputError as exc:
            self._finish(record.identifier, job_id, started, FAILED, failure="input",
                         failureField=exc.name, message=exc.message)
        except Exception as exc:
            from celery.exceptions import SoftTimeLimitExceeded

            if isinstance(exc, SoftTimeLimitExceeded):
                self._finish(record.identifier, job_id, started, FAILED, failure="timeout",
                             message=f"the job exceeded its time limit of {limit:g} s and "
                                     "was stopped")
            else:
                log.exception("job %s failed unexpectedly", job_id)
                self._finish(record.identifier, job_id, started, FAILED, failure="internal",
                             message=f"internal error: {type(exc).__name__}: {exc}")
        else:
            self._finish(record.identifier, job_id, started, SUCCEEDED, output=output,
                         percentCompleted=100,
                         message=f"Process {record.identifier} finished")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            self.heartbeat.busy_with = None
            self.heartbeat.jobs_done += 1

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
                **fields: Any) -> None:
        if self.jobs.status(job_id) == DISMISSED:
            return  # dismissed while it ran: the caller no longer wants the result
        if "message" in fields:
            fields["message"] = redact_paths(fields["message"], self.work_root / job_id)
        self.jobs.finish(job_id, status=status, **fields)
        metrics.JOBS.labels(identifier, status).inc()
        if started:
            metrics.JOB_DURATION.labels(identifier).observe(time.time() - started)

    # -- the job itself ------------------------------------------------------
    def _execute(self, identifier: str, plan: dict, folder: Path, job_id: str) -> dict:
        if plan.get("builtin"):
            # Only the OGC adapter makes such plans, for the node's builtin processes.
            builtin = self.builtins.get(identifier)
            if builtin is None:  # nodes sharing a queue publish different builtins
                raise JobFailed("execution", f"the builtin process {identifier} is not "
                                             f"enabled on node {self.settings.node_id}")
            return builtin.run(plan["literals"])
        import processing
        from qgis.core import QgsProcessingContext, QgsProcessingException

        process = self.catalog.get(identifier)  # published ones only: the policy holds here too
        problem = expression_problem(plan["literals"])
        if problem:
            raise InputError(*problem)
        if identifier in GUARDED_URL_PARAMETERS:  # the node fetches, through its guard
            return self._download(process, plan, folder)
        params: dict[str, Any] = dict(plan["literals"])
        read_only = {i["name"] for i in process["inputs"] if i.get("type") == "source"}
        for name, ref in plan["references"].items():
            inputs = [self._materialize(name, ref["kind"], item, folder / "in" / name / str(i),
                                        name in read_only)
                      for i, item in enumerate(ref["items"])]
            params[name] = inputs if ref["multiple"] else inputs[0]
        destinations = {}
        for name, fmt in plan["destinations"].items():
            destinations[name] = self._destination(folder / "out", name, fmt)
            params[name] = str(destinations[name])
        context = QgsProcessingContext()
        feedback = _feedback()
        try:
            with ProgressReporter(feedback, lambda percent: self.jobs.update(
                    job_id, percentCompleted=percent)):
                results = processing.run(identifier, params, context=context,
                                         feedback=feedback)
        except QgsProcessingException as exc:
            detail = feedback.failure_detail() or str(exc)
            raise JobFailed("execution", f"{identifier} failed: {detail}") from None
        missing = [name for name, path in destinations.items() if not path.exists()]
        if missing:  # external tools can fail without QGIS raising
            detail = feedback.failure_detail() or "no error message"
            raise JobFailed("execution", f"{identifier} failed: it produced no "
                                         f"{', '.join(missing)} ({detail})")
        return self._publish(process, results, destinations, plan, identifier)

    def _download(self, process: dict, plan: dict, folder: Path) -> dict:
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
                             identifier)

    def _materialize(self, name: str, kind: str, item: dict, folder: Path,
                     read_only: bool = False):
        """The input as QGIS will read it: a checked layer object (opened once, handed to
        the algorithm as is) or, for plain files, the path. A read-only input from our
        own file service may come from this worker's cache (cloudgeo.wpsnode.inputs.cache)."""
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
        self.inputs.put(stored.version, target, layer)
        return layer

    def _layer(self, name: str, kind: str, item: dict, folder: Path, stored=None):
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
        return self._open_layer(name, kind, path, item.get("href", "inline GeoJSON"))

    @staticmethod
    def _open_layer(name: str, kind: str, path: Path, origin: str):
        from qgis.core import QgsMeshLayer, QgsRasterLayer, QgsVectorLayer

        openers = {
            "vector": [lambda: QgsVectorLayer(str(path), name, "ogr")],
            "raster": [lambda: QgsRasterLayer(str(path), name)],
            "mesh": [lambda: QgsMeshLayer(str(path), name, "mdal")],
            "layer": [lambda: QgsVectorLayer(str(path), name, "ogr"),
                      lambda: QgsRasterLayer(str(path), name)],
        }
        if kind not in openers:
            return str(path)
        for opener in openers[kind]:
            layer = opener()
            if layer.isValid():
                return layer
        raise InputError(name, f"{origin} is not a readable {kind} layer")

    @staticmethod
    def _destination(folder: Path, name: str, fmt: str) -> Path:
        if fmt == "shp":  # a shapefile's sidecars are gathered in a folder, zipped later
            (folder / name).mkdir(parents=True, exist_ok=True)
            return folder / name / f"{name}.shp"
        if fmt == "zip":  # folder outputs
            (folder / name).mkdir(parents=True, exist_ok=True)
            return folder / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}.{fmt}"

    def _publish(self, process: dict, results: dict, destinations: dict[str, Path],
                 plan: dict, identifier: str) -> dict[str, Any]:
        output: dict[str, Any] = {}
        for out in process["outputs"]:
            name = out["name"]
            if name in destinations:
                path = destinations[name]
                fmt = plan["destinations"][name]
                if path.suffix == ".shp" or fmt == "zip":
                    path, fmt = _zip_folder(path if fmt == "zip" else path.parent), "zip"
                output[name] = self._upload(path, fmt, identifier, name)
                continue
            if name not in results:
                continue
            output[name] = self._literal(results[name], identifier, name)
        return output

    def _literal(self, value: Any, identifier: str, name: str) -> Any:
        if isinstance(value, str) and value and Path(value).is_file():
            path = Path(value)
            return self._upload(path, path.suffix.lstrip(".").lower() or "bin", identifier, name)
        if isinstance(value, list):
            return [self._literal(v, identifier, name) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return str(value)

    def _upload(self, path: Path, fmt: str, identifier: str, name: str) -> str:
        file_id = new_id()
        original = f"{identifier.replace(':', '-')}-{name}.{fmt}"
        self.store.put_file(file_id, str(path), content_type_for(fmt),
                            stored_file_metadata(fmt, original))
        return self.settings.retrieve_url(f"{file_id}.{fmt}")


def _zip_folder(folder: Path) -> Path:
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for item in sorted(folder.rglob("*")):
            if item.is_file():
                bundle.write(item, item.relative_to(folder))
    return archive
