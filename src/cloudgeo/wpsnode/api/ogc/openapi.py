"""The OpenAPI 3.0 document of the OGC API – Processes endpoints (service-desc)."""

from __future__ import annotations

from typing import Any


def _op(summary: str, *responses: str, params: list | None = None,
        body: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary,
                          "responses": {code: {"description": code} for code in responses}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "properties": {
                "inputs": {"type": "object"}, "outputs": {"type": "object"}}}}}}
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def document(base: str) -> dict[str, Any]:
    process_id, job_id = _path_param("processId"), _path_param("jobId")
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "CloudGeo OGC API – Processes", "version": "1.0.0"},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": _op("Landing page", "200")},
            "/conformance": {"get": _op("Conformance classes", "200")},
            "/processes": {"get": _op("Process list", "200", params=[limit])},
            "/processes/{processId}": {"get": _op("Process description", "200", "404",
                                                  params=[process_id])},
            "/processes/{processId}/execution": {"post": _op(
                "Execute a process (Prefer: respond-async for a job)", "200", "201", "400",
                "404", params=[process_id], body=True)},
            "/jobs": {"get": _op("Job list", "200", params=[limit])},
            "/jobs/{jobId}": {"get": _op("Job status", "200", "404", params=[job_id]),
                              "delete": _op("Dismiss a job", "200", "404", params=[job_id])},
            "/jobs/{jobId}/results": {"get": _op("Job results", "200", "404",
                                                 params=[job_id])},
        },
    }
