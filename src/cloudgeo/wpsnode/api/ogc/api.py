"""OGC API – Processes 1.0 under /ogcapi: module-level Flask routes of a few lines over
the framework-free processes.py (the job routes are jobs.py's, registered under this
blueprint); its error handlers write every refusal as an RFC 7807 problem, in one place.
The state the routes read (context.OgcApi) is the app's: create_app puts it there."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import RequestEntityTooLarge

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.ogc import jobs, processes, shapes, web
from cloudgeo.wpsnode.api.ogc.context import ogc
from cloudgeo.wpsnode.api.ogc.html import SWAGGER_CSP, form_fields, page, wants_html
from cloudgeo.wpsnode.api.ogc.processes import ModelUpload
from cloudgeo.wpsnode.api.ogc.web import (
    INVALID_PARAMETER,
    MAX_LIMIT,
    base_url,
    html,
    job_problem,
    problem_response,
)
from cloudgeo.wpsnode.caller import CURRENT
from cloudgeo.wpsnode.catalog.store import UnknownProcess
from cloudgeo.wpsnode.jobs.errors import JobError

routes = Blueprint("ogcapi", __name__, url_prefix="/ogcapi", template_folder="templates",
                   static_folder="static")
routes.register_blueprint(jobs.routes)  # its errors are answered by the handlers below


# -- errors: each an RFC 7807 problem ----------------------------------------------
@routes.errorhandler(UnknownProcess)
def no_such_process(exc: UnknownProcess):
    return problem_response("no-such-process", "No such process", 404,
                            f"no process '{exc.args[0]}'")


@routes.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    return problem_response("payload-too-large", "Request body too large", 413,
                            f"the request body is above the "
                            f"{ogc().service.settings.max_request_body} bytes this service "
                            "takes")


@routes.errorhandler(JobError)
def refused(exc: JobError):
    return job_problem(exc)


@routes.errorhandler(ApiError)
def invalid(exc: ApiError):
    kind = "no-such-job" if exc.status == 404 else INVALID_PARAMETER
    return problem_response(kind, "Request refused", exc.status, exc.message, exc.headers)


@routes.context_processor
def offered() -> dict:
    # The pages' menu links the job list only where it is offered.
    return {"job_list_open": ogc().service.job_list_open()}


# -- Part 1: the landing page, conformance, the API definition, processes ----------
@routes.get("/swagger-ui/<path:name>")
def swagger_files(name: str):
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(str(swagger_ui_path), name, max_age=86400)


@routes.get("/")
def landing():
    document = shapes.landing(base_url(), ogc().service.job_list_open())
    return html("landing.html", doc=document) if wants_html() else jsonify(document)


@routes.get("/conformance")
def conformance():
    classes = processes.conformance_classes(ogc())
    return html("conformance.html", classes=classes) if wants_html() else \
        jsonify({"conformsTo": classes})


@routes.get("/api")
def openapi():
    from cloudgeo.wpsnode.api.ogc.openapi import document

    if wants_html():
        return page("swagger.html", SWAGGER_CSP, base=base_url())
    response = jsonify(document(base_url()))
    response.content_type = "application/vnd.oai.openapi+json;version=3.0"
    return response


@routes.get("/processes")
def process_list():
    limit, start = web.limit(MAX_LIMIT), web.offset()  # refused before the catalogue is read
    q = request.args.get("q", "").strip()
    found = processes.process_list(ogc().listed(), q, limit, start, base_url())
    return html("processes.html", processes=found["processes"], q=q, links=found["links"],
                matched=found["numberMatched"]) if wants_html() else jsonify(found)


@routes.get("/processes/<path:process_id>")
def describe(process_id: str):
    described, process = processes.description(ogc(), process_id, base_url())
    return html("process.html", doc=described, fields=form_fields(process),
                upload_url=upload_url()) if wants_html() else jsonify(described)


def upload_url() -> str:
    # Behind the gateway the file service shares the page's origin.
    if request.script_root:
        return "/api/file/upload"
    return f"{ogc().service.settings.public_url}/api/file/upload"


# -- Part 2: deploy, replace, undeploy (models; administrators only) ---------------
@routes.post("/processes")
def deploy_process():
    summary, location = processes.deploy_process(ogc(), CURRENT.get(), model_upload(),
                                                 base_url())
    response = jsonify(summary)
    response.status_code, response.headers["Location"] = 201, location
    return response


@routes.put("/processes/<path:process_id>")
def replace_process(process_id: str):
    processes.replace_process(ogc(), CURRENT.get(), process_id, model_upload())
    return Response(status=204)


@routes.delete("/processes/<path:process_id>")
def undeploy_process(process_id: str):
    processes.undeploy_process(ogc(), CURRENT.get(), process_id)
    return Response(status=204)


def model_upload() -> ModelUpload:
    # request.stream is touched only when read (after the admin check): see ModelUpload.
    return ModelUpload(request.content_type or "", request.content_length,
                       lambda size: request.stream.read(size))
