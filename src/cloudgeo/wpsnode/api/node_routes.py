"""The node's own routes: WPS 1.0.0's endpoint and statusLocation, and /health; each a
few lines. What they need beyond the job service (the PyWPS service, the settings, the
Redis client) create_app puts in app.extensions as a Node, read through node()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from flask import Blueprint, Response, current_app, request

from cloudgeo.common.flaskkit import respond
from cloudgeo.wpsnode.api.health import node_health
from cloudgeo.wpsnode.api.jobs_routes import jobs
from cloudgeo.wpsnode.caller import CURRENT
from cloudgeo.wpsnode.jobs.errors import JobNotFound
from cloudgeo.wpsnode.settings import WpsSettings

KEY = "cloudgeo.node"

routes = Blueprint("node", __name__)


@dataclass(frozen=True)
class Node:
    settings: WpsSettings
    redis: redis.Redis
    # PyWPS's Service (api/wps10.service_class), built before the worker serves.
    wps: Any
    wps_url: str  # this node's WPS 1.0.0 endpoint as callers reach it (the gateway's)


def node() -> Node:
    return current_app.extensions[KEY]


@routes.route("/wps", methods=["GET", "POST"])
def wps():
    # PyWPS's Service is a WSGI application; its responses render lazily.
    node().wps.refresh()  # models and scripts published since the last request
    return Response.from_app(node().wps, request.environ)


@routes.get("/wps/status/<job_id>")
def wps_status(job_id: str):
    """The statusLocation of a WPS 1.0.0 Execute: any node renders it from Redis."""
    from cloudgeo.wpsnode.api.wps10 import wps_exception
    from cloudgeo.wpsnode.api.wps10_status import status_location

    try:
        document = status_location(jobs(), job_id, CURRENT.get(), node().wps_url)
    except JobNotFound as exc:
        return wps_exception(exc).get_response(request.environ)
    return Response(document, mimetype="text/xml")


@routes.get("/health")
def health():
    return respond(node_health(node().settings, node().redis, jobs()))
