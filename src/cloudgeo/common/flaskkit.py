"""What every CloudGeo Flask service shares: JSON errors, request metrics, /metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from cloudgeo.common.envelope import ApiError, error_data
from cloudgeo.common.metrics import exposition

log = logging.getLogger(__name__)
# (message, data) -> the service's failure envelope
FailureEnvelope = Callable[[str, Any], dict[str, Any]]


def json_error(envelope: FailureEnvelope, status: int, message: str, data: Any = None,
               headers: dict[str, str] | None = None) -> Response:
    response = jsonify(envelope(message, data))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def install_error_handlers(app: Flask, envelope: FailureEnvelope) -> None:
    """Every error, ours or Flask's, answers in the service's envelope; never a stack trace."""

    @app.errorhandler(ApiError)
    def on_api_error(exc: ApiError):
        return json_error(envelope, exc.status, exc.message, error_data(exc), exc.headers)

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException):
        return json_error(envelope, exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(envelope, 500, f"internal error: {type(exc).__name__}")


def install_request_metrics(app: Flask, requests_total, latency,
                            extra_collectors: tuple = ()) -> None:
    """Counts requests by route template, method and status; times them; serves /metrics."""

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        requests_total.labels(route, request.method, str(response.status_code)).inc()
        latency.labels(route, request.method).observe(
            time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.get("/metrics")
    def metrics_endpoint():
        body, content_type = exposition(extra_collectors)
        return Response(body, content_type=content_type)
