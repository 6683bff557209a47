"""The answer to a request the gateway lost: its server died while it was in flight.

Traefik never resends a request it has delivered (the server may have acted on it),
and answers 502 on its own. Its errors middleware asks the other service (a WPS
node's lost request is answered by the file service and the other way round, see
cloudgeo.gateway.config) for this page instead, and sends it with 503: the
caller's API, the caller's error shape, and when to send again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, jsonify, request

from cloudgeo.common.envelope import file_envelope, wps_envelope

# The gateway stops choosing a dead server at once (a refused connection is retried
# elsewhere) and evicts it within a health-check interval (1 s).
RETRY_AFTER_SECONDS = 1
MESSAGE = ("the server handling this request stopped before it answered, and the gateway "
           f"does not send a request twice: send it again in {RETRY_AFTER_SECONDS} s. A "
           "submission may have created a job before the server stopped: "
           "GET /api/wps/ogcapi/jobs lists yours.")

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
    """503 + Retry-After for the gateway path in `?url=`, in that API's error shape."""
    api = api_of(request.args.get("url", ""))
    if api == "wps10":
        response = Response(WPS_EXCEPTION_REPORT.format(message=MESSAGE), mimetype="text/xml")
    elif api == "ogc":
        response = jsonify({"type": "about:blank", "title": "Service Unavailable",
                            "status": 503, "detail": MESSAGE})
        response.content_type = "application/problem+json"
    elif api == "file":
        response = jsonify(file_envelope(None, MESSAGE, success=False))
    else:
        response = jsonify(wps_envelope(None, msg=MESSAGE, success=False))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
