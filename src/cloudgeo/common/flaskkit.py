"""What every CloudGeo Flask service shares: JSON errors, request metrics, /metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from cloudgeo.common.answer import Answer
from cloudgeo.common.envelope import ApiError, error_data
from cloudgeo.common.metrics import exposition
from cloudgeo.common.recycling import DEFAULT_LIMIT, FailureStreak, counting_escapes

log = logging.getLogger(__name__)
# (message, data) -> the service's failure envelope
FailureEnvelope = Callable[[str, Any], dict[str, Any]]


def json_error(envelope: FailureEnvelope, status: int, message: str, data: Any = None,
               headers: dict[str, str] | None = None) -> Response:
    response = jsonify(envelope(message, data))
    response.status_code = status
    response.headers.update(headers or {})
    return response



def respond(answer: Answer, mimetype: str = "application/json") -> Response:
    """A framework-free API's answer as Flask's response: JSON, or text of `mimetype`."""
    if mimetype == "application/json":
        response = jsonify(answer.body)
        response.status_code = answer.status
    else:
        response = Response(answer.body, status=answer.status, mimetype=mimetype)
    response.headers.update(answer.headers)
    return response


# (status, message, data, headers) -> the error's response, where a part of a service
# answers in a shape of its own (the OGC API's RFC 7807 problems)
ErrorAnswer = Callable[[int, str, Any, "dict[str, str] | None"], Response]


def install_error_handlers(app: Flask, envelope: FailureEnvelope,
                           recycle_after: int = DEFAULT_LIMIT,
                           answer: ErrorAnswer | None = None) -> FailureStreak:
    """Every error, ours or Flask's, answers in the service's envelope (or as `answer`
    says); never a stack trace. After `recycle_after` unexpected failures in a row the
    process asks to be replaced (cloudgeo.common.recycling)."""
    if answer is None:
        def answer(status: int, message: str, data: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
            return json_error(envelope, status, message, data, headers)

    streak = FailureStreak(recycle_after)
    app.wsgi_app = counting_escapes(app.wsgi_app, streak)

    @app.after_request
    def count_answers(response: Response) -> Response:
        if response.status_code < 500:
            streak.succeeded()
        return response

    @app.errorhandler(ApiError)
    def on_api_error(exc: ApiError):
        return answer(exc.status, exc.message, error_data(exc), exc.headers)

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException):
        headers = dict(exc.get_headers()) if exc.code == 405 else None  # Allow
        if headers:
            headers.pop("Content-Type", None)
        return answer(exc.code or 500, exc.description or exc.name, None, headers)

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        streak.failed()
        return answer(500, f"internal error: {type(exc).__name__}", None, None)

    return streak


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
