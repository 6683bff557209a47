"""What every OGC API route answers with: links from this request's base, RFC 7807
problems and HTML pages as the client asks, the paging arguments."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, request

from cloudgeo.common.envelope import ApiError
from cloudgeo.common.problems import problem_media_type
from cloudgeo.wpsnode.api.job_errors import http_headers, http_status
from cloudgeo.wpsnode.api.ogc import deploy, shapes
from cloudgeo.wpsnode.api.ogc.html import page, wants_html
from cloudgeo.wpsnode.jobs.errors import (
    JobError,
    JobNotFound,
    NoDeployedProcess,
    ProcessDeployedAlready,
    ProcessImmutable,
)

MAX_LIMIT = 1000
INVALID_PARAMETER = ("http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
                     "invalid-parameter")


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


# The problem type of a refusal that has one of its own: Part 1's, or Part 2's.
PROBLEM_TYPES: dict[type[JobError], str] = {
    JobNotFound: "no-such-job", NoDeployedProcess: "no-such-process",
    ProcessImmutable: f"{deploy.EXCEPTIONS}/immutable-process",
    ProcessDeployedAlready: f"{deploy.EXCEPTIONS}/duplicated-process"}


def job_problem(error: JobError) -> Response:
    """A job service refusal as this API says it: the one place they are mapped."""
    kind = next((kind for refusal, kind in PROBLEM_TYPES.items()
                 if isinstance(error, refusal)), INVALID_PARAMETER)
    return problem_response(kind, "Request refused", http_status(error), error.message,
                            http_headers(error))


def monitor_link(job: str) -> str:
    return f'<{job}>; rel="monitor"; type="application/json"; title="the job\'s status"'


def base_url() -> str:
    # Behind the gateway, the script root is the prefix it stripped (X-Forwarded-Prefix,
    # see api/app.py), so links point where redirects do.
    return f"{request.scheme}://{request.host}{request.script_root}/ogcapi"


def limit(default: int) -> int:
    """The page size asked for; above the maximum, the maximum (OGC API practice: serve
    what the server can, the `limit` in the links says what was served)."""
    raw = request.args.get("limit", str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, f"'limit' must be a whole number of at least 1, not {raw!r}",
                       field="limit")
    return min(int(raw), MAX_LIMIT)


def offset() -> int:
    raw = request.args.get("offset", "0")
    if not raw.isdigit():
        raise ApiError(400, f"'offset' must be a whole number, not {raw!r}", field="offset")
    return int(raw)


def _json_url() -> str:
    """This resource as JSON (the pages' footer link)."""
    args = {k: v for k, v in request.args.items(multi=True) if k != "f"}
    query = urlencode([*args.items(), ("f", "json")])
    return f"{base_url()}{request.path[len('/ogcapi'):]}?{query}"


def html(template: str, **context: Any) -> Response:
    return page(template, base=base_url(), json_url=_json_url(), **context)


def document_or_page(document: Any, template: str, **context: Any) -> Response:
    """The resource as JSON, or as its HTML page where a browser asks for one."""
    return html(template, **context) if wants_html() else jsonify(document)
