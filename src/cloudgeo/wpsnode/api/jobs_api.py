"""The CloudGeo JSON API's job routes without a web framework: each takes the job
service, the request's parsed parts and the caller, and returns the answer's status,
headers and body. Flask's side is api/jobs_routes.py."""

from __future__ import annotations

from typing import Any

from cloudgeo.common.answer import Answer
from cloudgeo.common.envelope import ApiError, wps_envelope
from cloudgeo.wpsnode.api.job_errors import http_headers, http_status
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.jobs.errors import JobError
from cloudgeo.wpsnode.jobs.execute import parse_execute
from cloudgeo.wpsnode.jobs.record import FAILURE_STATUS, FINISHED, SUCCEEDED
from cloudgeo.wpsnode.jobs.service import JobService


def ok(data: Any, msg: str = "success") -> Answer:
    return Answer(200, {}, wps_envelope(data, msg=msg))


def failure(message: str, data: Any = None) -> dict[str, Any]:
    """The seed's failure envelope."""
    return wps_envelope(data, msg=message, success=False)


def api_error(error: JobError) -> ApiError:
    """A job service refusal as this API says it: the one place they are mapped (the
    app's ApiError handler writes the envelope: status, message, field, headers)."""
    return ApiError(http_status(error), error.message, field=error.field,
                    headers=http_headers(error))


def execute(service: JobService, body: Any, caller: Caller) -> Answer:
    """`POST /jobs`: async answers at once with the job's id; sync waits for the end."""
    request = parse_execute(body)
    record = service.submit(request, caller)
    if request.mode == "async":
        return ok({"JobId": record.jobId, "status": record.status, "result": None})
    final = service.wait(record)
    if final.status == SUCCEEDED:
        return ok(final.sync_response())
    if final.status not in FINISHED:
        return Answer(504, {}, failure(f"job {final.jobId} is still {final.status}; "
                                       f"poll GET /jobs/{final.jobId}", final.sync_response()))
    status = FAILURE_STATUS.get(final.failure or "internal", 500)
    return Answer(status, {}, failure(final.message, final.sync_response()))


def job_status(service: JobService, job_id: str, caller: Caller) -> Answer:
    return ok(service.get(job_id, caller).status_response())


def job_log(service: JobService, job_id: str, caller: Caller) -> Answer:
    return Answer(200, {}, service.job_log(job_id, caller))


def dismiss(service: JobService, job_id: str, caller: Caller) -> Answer:
    return ok(service.dismiss(job_id, caller).status_response(), msg="dismissed")


def processes(service: JobService) -> Answer:
    catalog = service.catalog
    listed = catalog.summaries()
    return ok({"qgisVersion": catalog.qgis_version, "count": len(listed),
               "processes": listed})


def describe(service: JobService, identifier: str) -> Answer:
    return ok(service.catalog.get(identifier))
