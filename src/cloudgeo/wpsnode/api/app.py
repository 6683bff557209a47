"""The WPS node's HTTP API: the seed's JSON routes over the catalogue and the job queue."""

from __future__ import annotations

import redis
from flask import Flask, Response, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.middleware.proxy_fix import ProxyFix

from cloudgeo.common.envelope import error_data
from cloudgeo.common.flaskkit import install_error_handlers, install_request_metrics, json_error
from cloudgeo.common.unavailable import add_gateway_answers
from cloudgeo.registry.names import GATEWAY_ANSWER_PATHS
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode import metrics
from cloudgeo.wpsnode.api.jobs_api import api_error, failure
from cloudgeo.wpsnode.api.jobs_routes import routes
from cloudgeo.wpsnode.api.node_routes import KEY as NODE_KEY
from cloudgeo.wpsnode.api.node_routes import Node
from cloudgeo.wpsnode.api.node_routes import routes as node_routes
from cloudgeo.wpsnode.caller import CURRENT, identify
from cloudgeo.wpsnode.catalog.store import UnknownProcess
from cloudgeo.wpsnode.jobs.celery_queue import CeleryQueue
from cloudgeo.wpsnode.jobs.errors import JobError
from cloudgeo.wpsnode.jobs.models import LiveCatalog
from cloudgeo.wpsnode.jobs.pool import PoolCollector
from cloudgeo.wpsnode.jobs.quota import CallerQuota
from cloudgeo.wpsnode.jobs.service import JobService
from cloudgeo.wpsnode.jobs.store import JobStore, redis_client
from cloudgeo.wpsnode.jobs.watchdog import Watchdog
from cloudgeo.wpsnode.settings import WpsSettings

NODE_HEADER = "X-CloudGeo-Node"


def job_service(settings: WpsSettings, catalogs: LiveCatalog, client: redis.Redis,
                objects: ObjectStore) -> JobService:
    """The job service over its ports, every adapter built here and nowhere else: the
    job store, the queue and the caller quota on Redis, the watchdog over them, S3."""
    jobs = JobStore(client, settings.result_ttl)
    queue = CeleryQueue(client, settings.queue)
    return JobService(
        settings, catalogs, jobs=jobs, queue=queue, objects=objects,
        quota=CallerQuota(client, settings.max_jobs_per_caller,
                          settings.result_ttl + settings.job_time_limit),
        watchdog=Watchdog(client, jobs, settings.max_attempts, queue.submit, settings.queue))


def create_app(settings: WpsSettings | None = None) -> Flask:
    settings = settings or WpsSettings.from_env()
    client = redis_client(settings.redis_url)
    # The base catalogue plus models and scripts, refreshed as they change.
    catalogs = LiveCatalog(settings.load_catalog(), settings.state_dir, client,
                           settings.publication_policy())
    objects = ObjectStore(settings.s3)
    service = job_service(settings, catalogs, client, objects)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_body  # larger bodies: 413
    app.extensions["cloudgeo.jobs"] = service

    def answer(status: int, message: str, data=None, headers=None) -> Response:
        # Under /ogcapi every error is an RFC 7807 problem, those Flask raises too
        # (unknown paths, wrong methods, failures outside the OGC handlers).
        if request.path == "/ogcapi" or request.path.startswith("/ogcapi/"):
            from cloudgeo.wpsnode.api.ogc.web import problem_response

            title = HTTP_STATUS_CODES.get(status, "Error")
            return problem_response("about:blank", title, status, message, headers)
        return json_error(failure, status, message, data, headers)

    install_error_handlers(app, failure, settings.server.recycle_after_errors, answer)
    # The gateway strips its /api/wps and says so in X-Forwarded-Prefix (the last value:
    # the gateway's own). As the script root, every URL Flask makes keeps it: redirects
    # (/ogcapi -> /ogcapi/, merged slashes) as well as the OGC API's links.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=0, x_host=0, x_port=0,
                            x_prefix=1)
    install_request_metrics(app, metrics.REQUESTS, metrics.LATENCY,
                            (PoolCollector(client, settings.node_id, settings.qgis_workers,
                                           settings.queue),))

    @app.errorhandler(UnknownProcess)
    def on_unknown_process(exc: UnknownProcess):
        return json_error(failure, 404, f"no process '{exc.args[0]}' on this node; "
                                        "GET /processes lists them", {"field": "identifier"})

    @app.errorhandler(JobError)
    def on_job_error(exc: JobError):
        refusal = api_error(exc)
        return answer(refusal.status, refusal.message, error_data(refusal), refusal.headers)

    @app.errorhandler(redis.RedisError)
    def on_redis_down(exc: redis.RedisError):
        return answer(503, f"the job store is unreachable: {type(exc).__name__}", None,
                      {"Retry-After": "5"})

    @app.before_request
    def identify_caller() -> None:
        if request.path in ("/health", "/metrics", *GATEWAY_ANSWER_PATHS):
            return
        CURRENT.set(identify(request.headers, settings.user_header, settings.admins,
                             request.remote_addr or ""))

    @app.after_request
    def name_the_node(response):
        response.headers[NODE_HEADER] = settings.node_id
        # A caller's text comes back in results: never let a browser read it as HTML.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    from cloudgeo.wpsnode.api.ogc.api import routes as ogc_routes
    from cloudgeo.wpsnode.api.ogc.context import KEY as OGC_KEY
    from cloudgeo.wpsnode.api.ogc.context import ogc_api

    app.extensions[OGC_KEY] = ogc_api(service, objects)
    app.register_blueprint(ogc_routes)  # OGC API - Processes under /ogcapi (api/ogc/)
    app.register_blueprint(routes)  # the CloudGeo JSON API (api/jobs_routes.py)

    # WPS 1.0.0 (PyWPS) with its 767 process objects, built before the worker serves:
    # built on first use, it cost that request (and every thread waiting behind it)
    # PyWPS's imports and half a second.
    from cloudgeo.wpsnode.api.wps10 import WpsAdapter, configure_pywps, service_class

    wps_url = f"{settings.public_url}/api/wps/wps"
    configure_pywps(wps_url, settings.state_dir / "pywps")
    wps_service = service_class()(WpsAdapter(service, objects, settings.retrieve_url,
                                             f"{wps_url}/status"))
    app.extensions[NODE_KEY] = Node(settings, client, wps_service, wps_url)
    app.register_blueprint(node_routes)  # /wps, /wps/status/<job_id>, /health
    add_gateway_answers(app)
    return app
