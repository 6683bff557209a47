"""The CloudGeo JSON API's routes in Flask: each a line or two over api/jobs_api.py.
The job service is the app's (create_app puts it in app.extensions)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from cloudgeo.common.flaskkit import respond
from cloudgeo.wpsnode.api import jobs_api
from cloudgeo.wpsnode.caller import CURRENT
from cloudgeo.wpsnode.jobs.service import JobService

routes = Blueprint("cloudgeo_api", __name__)


def jobs() -> JobService:
    return current_app.extensions["cloudgeo.jobs"]


@routes.get("/processes")
def processes():
    return respond(jobs_api.processes(jobs()))


@routes.get("/processes/<path:identifier>")
def describe(identifier: str):
    return respond(jobs_api.describe(jobs(), identifier))


@routes.post("/jobs")
def execute():
    return respond(jobs_api.execute(jobs(), request.get_json(silent=True), CURRENT.get()))


@routes.get("/jobs/<job_id>")
@routes.get("/job/<job_id>")
def job_status(job_id: str):
    return respond(jobs_api.job_status(jobs(), job_id, CURRENT.get()))


@routes.get("/jobs/<job_id>/log")
def job_log(job_id: str):
    return respond(jobs_api.job_log(jobs(), job_id, CURRENT.get()), "text/plain")


@routes.delete("/jobs/<job_id>")
@routes.delete("/job/<job_id>")
def dismiss(job_id: str):
    return respond(jobs_api.dismiss(jobs(), job_id, CURRENT.get()))
