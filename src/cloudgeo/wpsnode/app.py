"""The WPS node's HTTP API: the seed's JSON routes over the catalogue and the job queue."""

from __future__ import annotations

import threading
import time
import uuid

import redis
from flask import Flask, Response, jsonify, request

from cloudgeo.common.envelope import ApiError, wps_envelope
from cloudgeo.common.flaskkit import install_error_handlers, install_request_metrics, json_error
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode import metrics
from cloudgeo.wpsnode.caller import CURRENT, identify
from cloudgeo.wpsnode.catalog.store import Catalog, UnknownProcess
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs_guard import HrefPolicy, href_problem
from cloudgeo.wpsnode.jobs.record import (
    ACCEPTED,
    DISMISSED,
    FAILURE_STATUS,
    FINISHED,
    RUNNING,
    SUCCEEDED,
    JobRecord,
)
from cloudgeo.wpsnode.jobs.store import DEADLINE_GRACE, JobStore, redis_client
from cloudgeo.wpsnode.jobs.watchdog import Watchdog
from cloudgeo.wpsnode.outputs import remove_outputs
from cloudgeo.wpsnode.params import plan_inputs
from cloudgeo.wpsnode.pool import PoolCollector, live_workers
from cloudgeo.wpsnode.settings import WpsSettings
from cloudgeo.wpsnode.worker_keys import node_alive_key

NODE_HEADER = "X-CloudGeo-Node"
WATCH_INTERVAL = 3  # seconds between a sync waiter's checks that the job's node lives
QUEUE_FULL_RETRY_AFTER = 10


class JobService:
    """Creates, queues and reads jobs; shared by the seed API and the WPS 1.0.0 adapter."""

    def __init__(self, settings: WpsSettings, catalog: Catalog, client: redis.Redis) -> None:
        self.settings = settings
        self.catalog = catalog
        self.jobs = JobStore(client, settings.result_ttl)
        self.policy = HrefPolicy.from_urls(settings.allowed_hosts)
        self.store = ObjectStore(settings.s3)
        self.watchdog = Watchdog(client, self.jobs, settings.max_attempts, self._enqueue,
                                 settings.queue)

    @staticmethod
    def _enqueue(record: JobRecord) -> None:
        from cloudgeo.wpsnode.jobs.celeryapp import submit

        submit(record.jobId, record.timeLimit)

    def get(self, job_id: str) -> JobRecord | None:
        """The job's record, after rescuing it if the node holding it died."""
        record = self.jobs.get(job_id)
        return self.watchdog.check(record) if record else None

    def check_href(self, name: str, href: str) -> None:
        problem = href_problem(href, self.policy)
        if problem:
            raise InputError(name, problem)

    def admit(self) -> None:
        """Refuses new work while the queue is full, rather than letting it grow unbounded."""
        waiting = self.jobs.redis.llen(self.settings.queue)
        if waiting >= self.settings.max_queued:
            raise ApiError(503, f"the job queue is full ({waiting} jobs waiting, limit "
                                f"{self.settings.max_queued}); try again later",
                           headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER)})

    def submit(self, identifier: str, inputs, outputs=None, mode: str = "sync") -> JobRecord:
        process = self.catalog.get(identifier)
        plan = plan_inputs(process, inputs, outputs, self.check_href)
        self.admit()
        record = JobRecord(jobId=uuid.uuid4().hex, identifier=identifier, mode=mode,
                           status=ACCEPTED, created=time.time(), plan=plan,
                           inputs=inputs or {}, submittedTo=self.settings.node_id,
                           timeLimit=self.settings.job_time_limit, message="queued",
                           owner=CURRENT.get().user)
        self.jobs.create(record)
        self._enqueue(record)
        return record

    def visible(self, job_id: str) -> JobRecord | None:
        """The job's record if the caller may see it: another caller's job is unknown."""
        record = self.get(job_id)
        return record if record is not None and CURRENT.get().may_see(record.owner) else None

    def job_list_open(self) -> bool:
        """Without authentication, every job is everyone's: listed only when made public."""
        return self.settings.authenticated or self.settings.job_list == "public"

    def newest(self, limit: int, keep=lambda record: True) -> list[JobRecord]:
        caller = CURRENT.get()
        return self.jobs.newest(limit, lambda r: caller.may_see(r.owner) and keep(r))

    def require(self, job_id: str) -> JobRecord:
        """The caller's job's record (rescued if need be), or a 404 naming the job."""
        record = self.visible(job_id)
        if record is None:
            raise ApiError(404, f"no job '{job_id}' (unknown, or its results expired)",
                           field="jobId")
        return record

    def dismiss(self, job_id: str) -> JobRecord | None:
        """Cancels a queued or running job (its worker is stopped and replaced); a
        finished job's record and output files are removed."""
        from cloudgeo.wpsnode.jobs.celeryapp import stop_running

        record = self.jobs.get(job_id)
        if record is None:
            return None
        if record.status in FINISHED:
            self.jobs.remove(job_id)
            remove_outputs(self.store, record.output)
            record.status = DISMISSED
            return record
        was_running = record.status == RUNNING
        self.jobs.finish(job_id, status=DISMISSED, message="dismissed by request")
        if was_running:
            stop_running(job_id)
        return self.jobs.get(job_id)

    def wait(self, record: JobRecord) -> JobRecord:
        """Blocks until the job ends (or its time limit and grace pass)."""
        deadline = time.monotonic() + record.timeLimit + DEADLINE_GRACE + 15
        current = record
        while time.monotonic() < deadline:
            current = self.jobs.wait(record.jobId, min(WATCH_INTERVAL,
                                                       deadline - time.monotonic())) or current
            if current.status in FINISHED:
                break
            current = self.watchdog.check(current)
        return current


def create_app(settings: WpsSettings | None = None) -> Flask:
    settings = settings or WpsSettings.from_env()
    catalog = settings.load_catalog()
    client = redis_client(settings.redis_url)
    service = JobService(settings, catalog, client)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["cloudgeo.jobs"] = service

    def failure(message: str, data=None) -> dict:
        return wps_envelope(data, msg=message, success=False)

    install_error_handlers(app, failure)
    install_request_metrics(app, metrics.REQUESTS, metrics.LATENCY,
                            (PoolCollector(client, settings.node_id, settings.qgis_workers,
                                           settings.queue),))

    @app.errorhandler(UnknownProcess)
    def on_unknown_process(exc: UnknownProcess):
        return json_error(failure, 404, f"no process '{exc.args[0]}' on this node; "
                                        "GET /processes lists them", {"field": "identifier"})

    @app.errorhandler(redis.RedisError)
    def on_redis_down(exc: redis.RedisError):
        return json_error(failure, 503, f"the job store is unreachable: {type(exc).__name__}",
                          headers={"Retry-After": "5"})

    @app.before_request
    def identify_caller() -> None:
        if request.path in ("/health", "/metrics"):
            return
        CURRENT.set(identify(request.headers, settings.user_header, settings.admins))

    @app.after_request
    def name_the_node(response):
        response.headers[NODE_HEADER] = settings.node_id
        return response

    from cloudgeo.wpsnode.ogc.api import blueprint

    app.register_blueprint(blueprint(service))

    @app.get("/processes")
    def processes():
        listed = catalog.summaries()
        return jsonify(wps_envelope({"qgisVersion": catalog.qgis_version,
                                     "count": len(listed), "processes": listed}))

    @app.get("/processes/<path:identifier>")
    def describe(identifier: str):
        return jsonify(wps_envelope(catalog.get(identifier)))

    @app.post("/jobs")
    def execute():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object with 'identifier' and "
                                "'inputs'", field="body")
        identifier = body.get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise ApiError(400, "'identifier' is required: the id of a process, e.g. "
                                "'native:buffer'", field="identifier")
        mode = body.get("mode", "sync")
        if mode not in ("sync", "async"):
            raise ApiError(400, f"'mode' must be 'sync' or 'async', not {mode!r}",
                           field="mode")
        inputs = body.get("inputs", {})
        if not isinstance(inputs, dict):
            raise ApiError(400, "'inputs' must be an object of input names to values",
                           field="inputs")
        outputs = body.get("outputs")
        if outputs is not None and not isinstance(outputs, dict):
            raise ApiError(400, "'outputs' must be an object of output names to "
                                '{"format": ...}', field="outputs")
        record = service.submit(identifier, inputs, outputs, mode)
        if mode == "async":
            return jsonify(wps_envelope({"JobId": record.jobId, "status": record.status,
                                         "result": None}))
        final = service.wait(record)
        if final.status == SUCCEEDED:
            return jsonify(wps_envelope(final.sync_response()))
        if final.status not in FINISHED:
            return json_error(failure, 504, f"job {final.jobId} is still {final.status}; "
                                            f"poll GET /jobs/{final.jobId}",
                              final.sync_response())
        status = FAILURE_STATUS.get(final.failure or "internal", 500)
        return json_error(failure, status, final.message, final.sync_response())

    @app.get("/jobs/<job_id>")
    @app.get("/job/<job_id>")
    def job_status(job_id: str):
        return jsonify(wps_envelope(service.require(job_id).status_response()))

    wps_service = None
    wps_lock = threading.Lock()
    wps_url = f"{settings.public_url}/api/wps/wps"

    @app.route("/wps", methods=["GET", "POST"])
    def wps():
        """WPS 1.0.0 (PyWPS); the 767 process objects are built on first use."""
        nonlocal wps_service
        if wps_service is None:
            with wps_lock:
                if wps_service is None:
                    from cloudgeo.wpsnode.wps10 import WpsAdapter, configure_pywps, service_class

                    configure_pywps(wps_url, settings.state_dir / "pywps")
                    adapter = WpsAdapter(service, service.store, settings.retrieve_url,
                                         f"{wps_url}/status")
                    wps_service = service_class()(adapter)
        # PyWPS's Service is a WSGI application; its responses render lazily.
        return Response.from_app(wps_service, request.environ)

    @app.get("/wps/status/<job_id>")
    def wps_status(job_id: str):
        """The statusLocation of a WPS 1.0.0 Execute: any node renders it from Redis."""
        from pywps.exceptions import NoApplicableCode

        from cloudgeo.wpsnode.wps10_status import status_document

        record = service.visible(job_id)
        if record is None:
            return NoApplicableCode(f"no job '{job_id}' (unknown, or its results expired)",
                                    locator="jobId", code=404).get_response(request.environ)
        document = status_document(catalog.get(record.identifier), record,
                                   f"{wps_url}/status/{job_id}", wps_url)
        return Response(document, mimetype="text/xml")

    @app.delete("/jobs/<job_id>")
    @app.delete("/job/<job_id>")
    def dismiss(job_id: str):
        service.require(job_id)
        record = service.dismiss(job_id) or service.require(job_id)
        return jsonify(wps_envelope(record.status_response(), msg="dismissed"))

    @app.get("/health")
    def health():
        if settings.server.draining():
            return json_error(failure, 503, "shutting down", {"node": settings.node_id})
        try:
            workers = live_workers(client, settings.node_id)
            consuming = client.exists(node_alive_key(settings.node_id))
        except redis.RedisError as exc:
            return json_error(failure, 503, f"the job store is unreachable: {exc}")
        data = {"node": settings.node_id, "processes": len(catalog.processes),
                "qgisWorkers": len(workers),
                "busyWorkers": sum(1 for w in workers.values() if w.get("busy"))}
        if not workers:
            return json_error(failure, 503, "no QGIS worker of this node is up yet", data)
        if not consuming:  # its jobs would be taken for a dead node's and moved
            return json_error(failure, 503, "this node's job consumer is not running", data)
        return jsonify(wps_envelope(data, msg="ok"))

    return app
