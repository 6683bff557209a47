"""The gateway's 503s, written by the other service in the caller's API.

Two cases, each a route of both Flask apps (a WPS node's request is answered by the
file service and the other way round, see cloudgeo.gateway.config):
- a request *lost*: its server died while it was in flight. Traefik never resends a
  request it has delivered (the server may have acted on it) and answers 502 on its
  own; its errors middleware asks for `UNAVAILABLE_PATH?url=<the caller's URL>` instead
  and sends that with 503.
- *no server*: every server of the service is down or gone (a restart, a lost
  machine), so the request was never delivered. Traefik's failover service (or, once
  the service has left the registry, a fallback router) sends it to `NO_SERVER_PATH`;
  the gateway's replacePath middleware leaves the caller's path in X-Replaced-Path.
Either way: the caller's API, the caller's error shape, and when to send again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request

from cloudgeo.common.envelope import file_envelope, wps_envelope
from cloudgeo.common.problems import problem_media_type
from cloudgeo.registry.names import NO_SERVER_PATH, UNAVAILABLE_PATH

# The gateway stops choosing a dead server at once (a refused connection is retried
# elsewhere) and evicts it within a health-check interval (1 s).
LOST_RETRY_AFTER = 1
LOST_MESSAGE = (
    "the server handling this request stopped before it answered, and the gateway does "
    f"not send a request twice: send it again in {LOST_RETRY_AFTER} s. A submission may "
    "have created a job before the server stopped: GET /api/wps/ogcapi/jobs lists yours.")
# A node or file service that restarts is back in a few seconds (as our own 503s say).
NO_SERVER_RETRY_AFTER = 5
NO_SERVER_MESSAGE = (
    "no server of this service is available right now (restarting, or stopped); the "
    f"request was not delivered, nothing was done: send it again in {NO_SERVER_RETRY_AFTER} s.")

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# OWS 1.1 as WPS 1.0.0 uses it; the text is ours alone (never the caller's), so it
# needs no escaping.
WPS_EXCEPTION_REPORT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.0.0">\n'
    '  <ows:Exception exceptionCode="ServerBusy">\n'
    '    <ows:ExceptionText>{message}</ows:ExceptionText>\n'
    '  </ows:Exception>\n'
    '</ows:ExceptionReport>\n')


def api_of(url: str) -> str:
    """Which API a gateway path belongs to: 'ogc', 'wps10', 'file' or 'json'."""
    path = urlsplit(url).path

    def under(prefix: str) -> bool:
        return path == prefix or path.startswith(prefix + "/")

    if under("/api/wps/ogcapi"):
        return "ogc"
    if under("/api/wps/wps"):
        return "wps10"
    if under("/api/file"):
        return "file"
    return "json"


def unavailable_response() -> Response:
    """503 + Retry-After for a lost request, the gateway path in `?url=`."""
    return _answer(api_of(request.args.get("url", "")), LOST_MESSAGE, LOST_RETRY_AFTER)


def no_server_response() -> Response:
    """503 + Retry-After for a request no server could take, its gateway path in
    X-Replaced-Path (the caller's own removed by the gateway)."""
    whole = _drain_body()
    response = _answer(api_of(request.headers.get("X-Replaced-Path", "")), NO_SERVER_MESSAGE,
                       NO_SERVER_RETRY_AFTER)
    if not whole:
        response.headers["Connection"] = "close"
    return response


# The caller's own request comes here, body and all. Answering before its body is read
# resets the connection under the proxies in between, and the gateway then answers 502
# (seen with a 20 MiB upload). Up to this much is read and dropped; past it the
# connection is closed (a client still sending may then see the lost-request 503).
DRAIN_LIMIT = 64 * 2**20


def _drain_body() -> bool:
    """Reads and drops the request body, up to DRAIN_LIMIT; whether it was all read."""
    left = DRAIN_LIMIT
    while left > 0:
        chunk = request.stream.read(min(left, 2**20))
        if not chunk:
            return True
        left -= len(chunk)
    return not request.stream.read(1)


def _answer(api: str, message: str, retry_after: int) -> Response:
    if api == "wps10":
        response = Response(WPS_EXCEPTION_REPORT.format(message=message), mimetype="text/xml")
    elif api == "ogc":
        response = jsonify({"type": "about:blank", "title": "Service Unavailable",
                            "status": 503, "detail": message})
        response.content_type = problem_media_type(request.accept_mimetypes)
    elif api == "file":
        response = jsonify(file_envelope(None, message, success=False))
    else:
        response = jsonify(wps_envelope(None, msg=message, success=False))
    response.status_code = 503
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def add_gateway_answers(app: Flask) -> None:
    """Serves both 503s on a service's own app (for the gateway, never published)."""
    app.add_url_rule(UNAVAILABLE_PATH, view_func=unavailable_response)
    # The caller's request itself comes here, whatever its method.
    app.add_url_rule(NO_SERVER_PATH, view_func=no_server_response, methods=ANY_METHOD)
