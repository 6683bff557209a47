"""The OGC API's job routes (execution, the job list, a job, its results, its log,
dismissal): module-level Flask views of a few lines over the job service, registered
under the OGC API's blueprint (api.py), whose error handlers answer for them."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from cloudgeo.wpsnode.api.ogc import shapes
from cloudgeo.wpsnode.api.ogc.context import ogc
from cloudgeo.wpsnode.api.ogc.execution import Delivery, execute_request
from cloudgeo.wpsnode.api.ogc.job_filters import job_query
from cloudgeo.wpsnode.api.ogc.results import results_response
from cloudgeo.wpsnode.api.ogc.web import (
    base_url,
    document_or_page,
    limit,
    monitor_link,
    offset,
    problem_response,
)
from cloudgeo.wpsnode.caller import CURRENT
from cloudgeo.wpsnode.jobs.record import DISMISSED, FINISHED, SUCCEEDED, JobRecord

routes = Blueprint("jobs", __name__)

EXECUTION_FAILED = ("http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
                    "execution-failed")


@routes.post("/processes/<path:process_id>/execution")
def execute(process_id: str):
    api, prefer = ogc(), request.headers.get("Prefer", "")
    builtin = api.builtins.get(process_id)
    job = execute_request(process_id, api.lookup(process_id), request.get_json(silent=True),
                          prefer, builtin is not None)
    record = api.service.submit_builtin(builtin, job, CURRENT.get()) if builtin else \
        api.service.submit(job, CURRENT.get())
    return accepted(record) if job.mode == "async" else \
        executed(api.service.wait(record), prefer)


@routes.get("/jobs")
def jobs():
    if not ogc().service.job_list_open():
        return problem_response("not-found", "Not found", 404,
                                "the job list is not offered by this service")
    query = job_query(request.args, limit(100), offset())
    return job_list(ogc().service.list_jobs(query, CURRENT.get()), query.offset, query.limit)


@routes.get("/jobs/<job_id>")
def job(job_id: str):
    info = shapes.status_info(ogc().service.get(job_id, CURRENT.get()), base_url())
    return document_or_page(info, "job.html", info=info)


@routes.get("/jobs/<job_id>/log")
def job_log(job_id: str):
    return Response(ogc().service.job_log(job_id, CURRENT.get()), mimetype="text/plain")


@routes.get("/jobs/<job_id>/results")
def job_results(job_id: str):
    return results_or_problem(ogc().service.get(job_id, CURRENT.get()))


@routes.delete("/jobs/<job_id>")
def dismiss(job_id: str):
    record = ogc().service.dismiss(job_id, CURRENT.get())
    return jsonify(shapes.status_info(record, base_url()))


def results(record: JobRecord) -> Response:
    api = ogc()
    return results_response(record, Delivery.from_fields(record.delivery), api.store,
                            api.service.settings.max_inline_output)


def accepted(record: JobRecord) -> Response:
    """An async execution's answer: 201, the job's status info and where to follow it."""
    base = base_url()
    response = jsonify(shapes.status_info(record, base))
    response.status_code = 201
    response.headers["Location"] = f"{base}/jobs/{record.jobId}"
    response.headers["Preference-Applied"] = "respond-async"
    return response


def executed(final: JobRecord, prefer: str) -> Response:
    """A sync execution's answer: its results, or the problem it failed with."""
    job = f"{base_url()}/jobs/{final.jobId}"
    if final.status != SUCCEEDED:
        response = problem_response(EXECUTION_FAILED, "Execution failed",
                                    500 if final.failure != "input" else 400,
                                    final.message, {"Location": job})
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


def job_list(found: list[JobRecord], start: int, page: int) -> Response:
    """A page of the job list, with its self and next links."""
    base = base_url()
    query_string = request.query_string.decode()
    links = [shapes.link(f"{base}/jobs" + (f"?{query_string}" if query_string else ""),
                         "self")]
    if len(found) == page:
        args = request.args.to_dict(flat=False)
        args["offset"] = [str(start + page)]
        links.append(shapes.link(f"{base}/jobs?{urlencode(args, doseq=True)}", "next"))
    document = shapes.job_list(found, base, links)
    return document_or_page(document, "jobs.html", jobs=document["jobs"], links=links,
                            statuses=list(shapes.OGC_STATUS.values()),
                            status=request.args.get("status", ""),
                            process_id=request.args.get("processID", ""))


def results_or_problem(record: JobRecord) -> Response:
    """A job's results once it succeeded; else why there are none (yet)."""
    if record.status == SUCCEEDED:
        return results(record)
    if record.status == DISMISSED:  # there are no results, and never will be
        return problem_response("no-such-job", "No such job", 404,
                                f"job {record.jobId} was dismissed: it has no results")
    if record.status in FINISHED:
        return problem_response(EXECUTION_FAILED, "Job failed", 500, record.message)
    return problem_response("result-not-ready", "Result not ready", 404,
                            f"job {record.jobId} is {shapes.OGC_STATUS[record.status]}")
