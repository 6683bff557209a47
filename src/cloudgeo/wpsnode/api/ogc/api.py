"""OGC API – Processes 1.0 under /ogcapi: a thin Flask adapter over the JobService."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Blueprint, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import RequestEntityTooLarge

from cloudgeo.common.envelope import ApiError
from cloudgeo.common.problems import problem_media_type
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode.api.ogc import deploy, shapes
from cloudgeo.wpsnode.api.ogc.execution import Delivery, parse_delivery
from cloudgeo.wpsnode.api.ogc.html import SWAGGER_CSP, form_fields, page, wants_html
from cloudgeo.wpsnode.api.ogc.job_filters import job_query
from cloudgeo.wpsnode.api.ogc.results import results_response
from cloudgeo.wpsnode.caller import CURRENT
from cloudgeo.wpsnode.catalog.store import UnknownProcess
from cloudgeo.wpsnode.jobs.models import DeployRefused, ModelDeployments, admin_only
from cloudgeo.wpsnode.jobs.record import DISMISSED, FINISHED, SUCCEEDED

MAX_LIMIT = 1000


def problem_response(kind: str, title: str, status: int, detail: str,
                     headers: dict | None = None) -> Response:
    problem = shapes.problem(kind, title, status, detail)
    if wants_html():
        response = html("error.html", problem=problem)
    else:
        response = jsonify(problem)
        response.content_type = problem_media_type(request.accept_mimetypes)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def monitor_link(job: str) -> str:
    return f'<{job}>; rel="monitor"; type="application/json"; title="the job\'s status"'


def base_url() -> str:
    # Behind the gateway, the script root is the prefix it stripped (X-Forwarded-Prefix,
    # see api/app.py), so links point where redirects do.
    return f"{request.scheme}://{request.host}{request.script_root}/ogcapi"


def _limit(default: int) -> int:
    """The page size asked for; above the maximum, the maximum (OGC API practice: serve
    what the server can, the `limit` in the links says what was served)."""
    raw = request.args.get("limit", str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, f"'limit' must be a whole number of at least 1, not {raw!r}",
                       field="limit")
    return min(int(raw), MAX_LIMIT)


def _offset() -> int:
    raw = request.args.get("offset", "0")
    if not raw.isdigit():
        raise ApiError(400, f"'offset' must be a whole number, not {raw!r}", field="offset")
    return int(raw)


def _json_url() -> str:
    """This resource as JSON (the pages' footer link)."""
    args = {k: v for k, v in request.args.items(multi=True) if k != "f"}
    query = urlencode([*args.items(), ("f", "json")])
    return f"{base_url()}{request.path[len('/ogcapi'):]}?{query}"


def html(template: str, **context) -> Response:
    return page(template, base=base_url(), json_url=_json_url(), **context)


def blueprint(service, store: ObjectStore) -> Blueprint:
    """`store`: where results are read from (the job service only removes them)."""
    api = Blueprint("ogcapi", __name__, url_prefix="/ogcapi", template_folder="templates",
                    static_folder="static")
    # Plain-Python processes (cloudgeo.wpsnode.builtin): published here only.
    builtins = service.settings.builtins()
    builtin_entries = {pid: builtin.catalog_entry() for pid, builtin in builtins.items()}

    # Part 2 is offered where administrators are known (authentication on).
    deployments = ModelDeployments(service.catalogs, service.settings.max_model_size,
                                   service.settings.state_dir) \
        if service.catalogs is not None and service.catalogs.deployed is not None else None
    deployments_offered = bool(deployments and service.settings.authenticated
                               and service.settings.admins)

    def listed() -> list[dict]:
        # Models and scripts come and go while the node runs: read at each request.
        return [*service.catalog.processes.values(), *builtin_entries.values()]

    def lookup(process_id: str) -> dict:
        """A published process as the catalogue describes it (a builtin's entry too)."""
        if process_id in builtin_entries:
            return builtin_entries[process_id]
        return service.catalog.get(process_id)

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

    @api.errorhandler(ApiError)
    def invalid(exc: ApiError):
        kind = {404: "no-such-job"}.get(exc.status, "http://www.opengis.net/def/exceptions/"
                                                    "ogcapi-processes-1/1.0/invalid-parameter")
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
        limit = _limit(MAX_LIMIT)
        start = _offset()
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

    def results(record) -> Response:
        return results_response(record, Delivery.from_fields(record.delivery), store,
                                service.settings.max_inline_output)

    @api.post("/processes/<path:process_id>/execution")
    def execute(process_id: str):
        process, builtin = lookup(process_id), builtins.get(process_id)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON execute request with 'inputs'",
                           field="body")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise ApiError(400, "'inputs' must be an object", field="inputs")
        delivery = parse_delivery(body, process)
        prefer = request.headers.get("Prefer", "")
        prefer_async = "respond-async" in prefer
        mode = "async" if prefer_async else "sync"
        subscriber = body.get("subscriber")  # checked by the service, before inputs
        if builtin:
            record = service.submit_builtin(builtin, inputs, mode, delivery.to_fields(),
                                            subscriber)
        else:
            record = service.submit(process_id, shapes.seed_inputs(inputs),
                                    shapes.seed_outputs(body.get("outputs"), process), mode,
                                    delivery.to_fields(), subscriber)
        base = base_url()
        if prefer_async:
            response = jsonify(shapes.status_info(record, base))
            response.status_code = 201
            response.headers["Location"] = f"{base}/jobs/{record.jobId}"
            response.headers["Preference-Applied"] = "respond-async"
            return response
        final = service.wait(record)
        job = f"{base}/jobs/{final.jobId}"
        if final.status != SUCCEEDED:
            response = problem_response(
                "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
                "execution-failed", "Execution failed", 500 if final.failure != "input"
                else 400, final.message, {"Location": job})
            response.headers.add("Link", monitor_link(job))
            return response
        response = results(final)
        response.headers["Location"] = job
        # A sync execution made a job too: 1.0 says where to follow it (rel monitor),
        # beside any Link headers of outputs by reference.
        response.headers.add("Link", monitor_link(job))
        if "wait" in prefer:
            response.headers["Preference-Applied"] = "wait"
        return response

    @api.get("/jobs")
    def jobs():
        if not service.job_list_open():
            return problem_response("not-found", "Not found", 404,
                                    "the job list is not offered by this service")
        query = job_query(request.args, _limit(100), _offset())
        base = base_url()
        found = service.list_jobs(query)
        query_string = request.query_string.decode()
        links = [shapes.link(f"{base}/jobs" + (f"?{query_string}" if query_string else ""),
                             "self")]
        if len(found) == query.limit:
            args = request.args.to_dict(flat=False)
            args["offset"] = [str(query.offset + query.limit)]
            links.append(shapes.link(f"{base}/jobs?{urlencode(args, doseq=True)}", "next"))
        document = shapes.job_list(found, base, links)
        if wants_html():
            return html("jobs.html", jobs=document["jobs"], links=links,
                        statuses=list(shapes.OGC_STATUS.values()),
                        status=request.args.get("status", ""),
                        process_id=request.args.get("processID", ""))
        return jsonify(document)

    @api.get("/jobs/<job_id>")
    def job(job_id: str):
        info = shapes.status_info(service.require(job_id), base_url())
        if wants_html():
            return html("job.html", info=info)
        return jsonify(info)

    @api.get("/jobs/<job_id>/log")
    def job_log(job_id: str):
        return Response(service.job_log(job_id), mimetype="text/plain")

    @api.get("/jobs/<job_id>/results")
    def job_results(job_id: str):
        record = service.require(job_id)
        if record.status == SUCCEEDED:
            return results(record)
        if record.status == DISMISSED:  # there are no results, and never will be
            return problem_response("no-such-job", "No such job", 404,
                                    f"job {job_id} was dismissed: it has no results")
        if record.status in FINISHED:
            return problem_response("http://www.opengis.net/def/exceptions/ogcapi-processes-1"
                                    "/1.0/execution-failed", "Job failed", 500,
                                    record.message)
        return problem_response("result-not-ready", "Result not ready", 404,
                                f"job {job_id} is {shapes.OGC_STATUS[record.status]}")

    @api.delete("/jobs/<job_id>")
    def dismiss(job_id: str):
        service.require(job_id)
        record = service.dismiss(job_id) or service.require(job_id)
        return jsonify(shapes.status_info(record, base_url()))

    return api
