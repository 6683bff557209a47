"""OGC API – Processes 1.0 under /ogcapi: a thin Flask adapter over the JobService."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import RequestEntityTooLarge

from cloudgeo.common.envelope import ApiError
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode.api.ogc import deploy, jobs, shapes, web
from cloudgeo.wpsnode.api.ogc.context import KEY, OgcApi
from cloudgeo.wpsnode.api.ogc.html import SWAGGER_CSP, form_fields, page, wants_html
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
from cloudgeo.wpsnode.jobs.models import DeployRefused, ModelDeployments, admin_only


def blueprint(service, store: ObjectStore) -> Blueprint:
    """`store`: where results are read from (the job service only removes them)."""
    api = Blueprint("ogcapi", __name__, url_prefix="/ogcapi", template_folder="templates",
                    static_folder="static")
    builtins = service.settings.builtins()
    shared = OgcApi(service, store, builtins,
                    {pid: builtin.catalog_entry() for pid, builtin in builtins.items()})
    api.record_once(lambda state: state.app.extensions.__setitem__(KEY, shared))
    api.register_blueprint(jobs.routes)  # its errors are answered by the handlers below

    # Part 2 is offered where administrators are known (authentication on).
    deployments = ModelDeployments(service.catalogs, service.settings.max_model_size,
                                   service.settings.state_dir) \
        if service.catalogs is not None and service.catalogs.deployed is not None else None
    deployments_offered = bool(deployments and service.settings.authenticated
                               and service.settings.admins)

    listed, lookup = shared.listed, shared.lookup

    @api.get("/swagger-ui/<path:name>")
    def swagger_files(name: str):
        from swagger_ui_bundle import swagger_ui_path

        return send_from_directory(str(swagger_ui_path), name, max_age=86400)

    def upload_url() -> str:
        # Behind the gateway the file service shares the page's origin.
        if request.script_root:
            return "/api/file/upload"
        return f"{service.settings.public_url}/api/file/upload"

    @api.errorhandler(UnknownProcess)
    def no_such_process(exc: UnknownProcess):
        return problem_response("no-such-process", "No such process", 404,
                                f"no process '{exc.args[0]}'")

    @api.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        return problem_response("payload-too-large", "Request body too large", 413,
                                f"the request body is above the {service.settings.max_request_body}"
                                " bytes this service takes")

    @api.errorhandler(JobError)
    def refused(exc: JobError):
        return job_problem(exc)

    @api.errorhandler(ApiError)
    def invalid(exc: ApiError):
        kind = {404: "no-such-job"}.get(exc.status, INVALID_PARAMETER)
        if isinstance(exc, DeployRefused) and exc.kind:  # Part 2's types (404: Part 1's)
            kind = exc.kind if exc.kind == "no-such-process" else \
                f"{deploy.EXCEPTIONS}/{exc.kind}"
        return problem_response(kind, "Request refused", exc.status, exc.message, exc.headers)

    @api.context_processor
    def offered() -> dict:
        # The pages' menu links the job list only where it is offered.
        return {"job_list_open": service.job_list_open()}

    @api.get("/")
    def landing():
        document = shapes.landing(base_url(), service.job_list_open())
        if wants_html():
            return html("landing.html", doc=document)
        return jsonify(document)

    @api.get("/conformance")
    def conformance():
        classes = shapes.conformance(service.job_list_open(),
                                     service.settings.callbacks_offered)
        if deployments_offered:
            classes += deploy.CONFORMANCE
        if wants_html():
            return html("conformance.html", classes=classes)
        return jsonify({"conformsTo": classes})

    @api.get("/api")
    def openapi():
        from cloudgeo.wpsnode.api.ogc.openapi import document

        if wants_html():
            return page("swagger.html", SWAGGER_CSP, base=base_url())
        response = jsonify(document(base_url()))
        response.content_type = "application/vnd.oai.openapi+json;version=3.0"
        return response

    @api.get("/processes")
    def processes():
        limit = web.limit(MAX_LIMIT)
        start = web.offset()
        q = request.args.get("q", "").strip()
        every = [p for p in listed() if shapes.matches(p, q)]
        shown = every[start:start + limit]
        base = base_url()
        search = f"&q={quote(q)}" if q else ""
        links = [shapes.link(f"{base}/processes?limit={limit}&offset={start}{search}", "self")]
        if start + limit < len(every):
            links.append(shapes.link(
                f"{base}/processes?limit={limit}&offset={start + limit}{search}", "next"))
        if start:
            links.append(shapes.link(
                f"{base}/processes?limit={limit}&offset={max(0, start - limit)}{search}",
                "prev"))
        summaries = [shapes.process_summary(p, base) for p in shown]
        if wants_html():
            return html("processes.html", processes=summaries, matched=len(every), q=q,
                        links=links)
        return jsonify({"processes": summaries, "numberMatched": len(every), "links": links})

    @api.get("/processes/<path:process_id>")
    def describe(process_id: str):
        if process_id.endswith("/execution"):
            raise ApiError(405, "execution takes POST", field="method")
        process, builtin = lookup(process_id), builtins.get(process_id)
        described = (shapes.builtin_description(builtin, base_url()) if builtin else
                     shapes.process_description(process, base_url()))
        if wants_html():
            return html("process.html", doc=described, fields=form_fields(process),
                        upload_url=upload_url())
        return jsonify(described)

    # -- Part 2: deploy, replace, undeploy (models; administrators only) ----------
    def model_body() -> tuple[str | None, str]:
        limit = 2 * service.settings.max_model_size + 65536  # a package escapes the XML
        if (request.content_length or 0) > limit:
            raise DeployRefused(413, f"the body is above the {limit} bytes a deployment "
                                     "takes (CLOUDGEO_WPS_MAX_MODEL_SIZE)", "body")
        body = request.stream.read(limit + 1)
        if len(body) > limit:
            raise DeployRefused(413, f"the body is above the {limit} bytes a deployment "
                                     "takes (CLOUDGEO_WPS_MAX_MODEL_SIZE)", "body")
        return deploy.parse_body(request.content_type or "", body)

    @api.post("/processes")
    def deploy_process():
        admin_only(CURRENT.get())
        name, content = model_body()
        identifier = deployments.deploy(name, content, CURRENT.get().user)
        base = base_url()
        response = jsonify(shapes.process_summary(service.catalog.get(identifier), base))
        response.status_code = 201
        response.headers["Location"] = f"{base}/processes/{identifier}"
        return response

    @api.put("/processes/<path:process_id>")
    def replace_process(process_id: str):
        admin_only(CURRENT.get())
        name, content = model_body()
        deployments.replace(process_id, name, content, CURRENT.get().user)
        return Response(status=204)

    @api.delete("/processes/<path:process_id>")
    def undeploy_process(process_id: str):
        admin_only(CURRENT.get())
        deployments.undeploy(process_id)
        return Response(status=204)

    return api
