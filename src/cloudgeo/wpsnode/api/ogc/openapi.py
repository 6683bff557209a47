"""The OpenAPI 3.0 document of the OGC API – Processes endpoints (service-desc): pure.

It names every parameter the adapter reads (api.py, job_filters.py, execution.py), so
Swagger UI offers them; tests/unit/test_ogc_openapi.py checks that none is missing.
"""

from __future__ import annotations

from typing import Any

from cloudgeo.wpsnode.api.ogc.execution import RESPONSES, TRANSMISSION_MODES
from cloudgeo.wpsnode.api.ogc.shapes import OGC_STATUS
from cloudgeo.wpsnode.jobs.subscriber import SUBSCRIBER_URIS

JSON = "application/json"
# The same problem document under either media type, as the client's Accept asks
# (cloudgeo.common.problems).
PROBLEM = {"description": "an RFC 7807 problem naming what is wrong (application/json when "
                          "the client accepts that and not application/problem+json)",
           "content": {media: {"schema": {"type": "object"}}
                       for media in ("application/problem+json", "application/json")}}


def _query(name: str, description: str, schema: dict[str, Any],
           explode: bool | None = None) -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "description": description,
             "schema": schema}
    if explode is not None:
        param.update(style="form", explode=explode)
    return param


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


FORMAT = _query("f", "json (the default for clients) or html (a page)",
                {"type": "string", "enum": ["json", "html"]})
OFFSET = _query("offset", "entries to pass over", {"type": "integer", "minimum": 0,
                                                    "default": 0})


def _limit(default: int) -> dict[str, Any]:
    return _query("limit", "entries per page; above 1000, 1000 are served",
                  {"type": "integer", "minimum": 1, "default": default})


def _answer(description: str, media: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {}}}}


def _op(summary: str, responses: dict[str, Any], params: list | None = None,
        **extra: Any) -> dict[str, Any]:
    errors = {"400": PROBLEM} if params and any(p["in"] == "query" for p in params) else {}
    return {"summary": summary, "parameters": params or [],
            "responses": {**responses, **errors}, **extra}


EXECUTE_BODY = {"required": True, "content": {JSON: {"schema": {
    "type": "object",
    "properties": {
        "inputs": {"type": "object", "description": "input name -> a value, a qualified "
                   "value {value, mediaType}, {href} or a list of these"},
        "outputs": {"type": "object", "description": "the outputs to return (all when "
                    "absent), each with its transmissionMode and format",
                    "additionalProperties": {"type": "object", "properties": {
                        "transmissionMode": {"type": "string",
                                             "enum": list(TRANSMISSION_MODES)},
                        "format": {"type": "object", "properties": {
                            "mediaType": {"type": "string"}}}}}},
        "response": {"type": "string", "enum": list(RESPONSES), "default": "document"},
        "subscriber": {
            "type": "object", "description": "callbacks (when the conformance class "
            "`callback` is declared): the job's status document is POSTed to inProgressUri "
            "when it starts running and to failedUri if it fails, its results document "
            "(files by reference) to successUri when it succeeds; at most once each, "
            "retried with backoff. Hosts on the service's callback allow-list only; "
            "refused URLs answer 400 naming the field",
            "properties": {uri: {"type": "string", "format": "uri"}
                           for uri in SUBSCRIBER_URIS},
            "additionalProperties": False, "minProperties": 1},
    }}}}}

PREFER = {"name": "Prefer", "in": "header", "required": False,
          "description": "respond-async: answer 201 with a job at once; wait: a sync answer",
          "schema": {"type": "string"}}


def _results(what: str) -> dict[str, Any]:
    return {
        "200": {"description": f"{what}: a results document, the output itself (response "
                              "raw) or multipart/related (raw, several outputs)",
                "content": {JSON: {"schema": {"type": "object"}},
                            "multipart/related": {"schema": {}},
                            "application/octet-stream": {"schema": {}}}},
        "204": {"description": "response raw with every output by reference: Link headers"},
    }


# Part 2: a QGIS .model3, or an OGC application package wrapping one (api/ogc/deploy.py).
DEPLOY_BODY = {"required": True, "content": {
    "application/xml": {"schema": {"type": "string",
                                   "description": "a QGIS .model3 document"}},
    "application/ogcapppkg+json": {"schema": {
        "type": "object", "required": ["executionUnit"],
        "properties": {"processDescription": {"type": "object", "properties": {
                           "id": {"type": "string"}}},
                       "executionUnit": {"type": "object", "properties": {
                           "value": {"type": "string",
                                     "description": "the .model3 document"},
                           "mediaType": {"type": "string"}}}}}}}}
DEPLOY_ERRORS = {"400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "413": PROBLEM,
                 "415": PROBLEM}


def document(base: str) -> dict[str, Any]:
    process_id, job_id = _path("processId"), _path("jobId")
    job_filters = [
        _query("status", "job statuses, repeated or comma-separated",
               {"type": "array", "items": {"type": "string",
                                           "enum": list(OGC_STATUS.values())}}, explode=True),
        _query("processID", "process ids, repeated or comma-separated",
               {"type": "array", "items": {"type": "string"}}, explode=True),
        _query("type", "job types; this service runs `process` jobs",
               {"type": "array", "items": {"type": "string"}}, explode=True),
        _query("datetime", "created at an RFC 3339 instant or in an interval start/end "
                           "('..' open)", {"type": "string"}),
        _query("minDuration", "finished jobs that ran at least this many seconds",
               {"type": "number", "minimum": 0}),
        _query("maxDuration", "finished jobs that ran at most this many seconds",
               {"type": "number", "minimum": 0}),
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": "CloudGeo OGC API – Processes", "version": "1.0.0"},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": _op("Landing page", {"200": _answer("the landing page")},
                             [FORMAT])},
            "/conformance": {"get": _op("Conformance classes",
                                        {"200": _answer("the conformance classes")},
                                        [FORMAT])},
            "/api": {"get": _op("This document (Swagger UI with f=html)",
                                {"200": _answer("the API definition",
                                                "application/vnd.oai.openapi+json;"
                                                "version=3.0")}, [FORMAT])},
            "/processes": {"get": _op(
                "Process list", {"200": _answer("a page of process summaries")},
                [_limit(1000), OFFSET,
                 _query("q", "words found in the id, title, group or description",
                        {"type": "string"}), FORMAT]),
                "post": _op("Deploy a QGIS model (Part 2; administrators)",
                            {"201": _answer("the deployed process's summary"),
                             **DEPLOY_ERRORS, "409": PROBLEM},
                            requestBody=DEPLOY_BODY)},
            "/processes/{processId}": {
                "get": _op("Process description", {"200": _answer("the process description"),
                                                   "404": PROBLEM}, [process_id, FORMAT]),
                "put": _op("Replace a deployed model (Part 2; administrators)",
                           {"204": {"description": "replaced"}, **DEPLOY_ERRORS,
                            "404": PROBLEM}, [process_id], requestBody=DEPLOY_BODY),
                "delete": _op("Undeploy a deployed model (Part 2; administrators)",
                              {"204": {"description": "undeployed"}, "401": PROBLEM,
                               "403": PROBLEM, "404": PROBLEM}, [process_id])},
            "/processes/{processId}/execution": {"post": _op(
                "Execute a process", {**_results("sync execution"),
                                      "201": _answer("the job (Prefer: respond-async)"),
                                      "400": PROBLEM, "404": PROBLEM, "413": PROBLEM,
                                      "500": PROBLEM, "503": PROBLEM},
                [process_id, PREFER], requestBody=EXECUTE_BODY)},
            "/jobs": {"get": _op("Job list", {"200": _answer("a page of jobs, newest first"),
                                              "404": PROBLEM},
                                 [_limit(100), OFFSET, *job_filters, FORMAT])},
            "/jobs/{jobId}": {
                "get": _op("Job status", {"200": _answer("the job's status"),
                                          "404": PROBLEM}, [job_id, FORMAT]),
                "delete": _op("Dismiss a job", {"200": _answer("the dismissed job"),
                                                "404": PROBLEM}, [job_id])},
            "/jobs/{jobId}/results": {"get": _op(
                "Job results", {**_results("as the execute request asked"),
                                "404": PROBLEM, "500": PROBLEM}, [job_id])},
            "/jobs/{jobId}/log": {"get": _op(
                "Job log", {"200": _answer("QGIS's messages for the job, one per line, "
                                           "every attempt's", "text/plain"),
                            "404": PROBLEM}, [job_id])},
        },
    }
