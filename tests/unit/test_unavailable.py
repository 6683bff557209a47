"""The answer the other service writes for a request the gateway lost to a dead server."""

from __future__ import annotations

import pytest
from flask import Flask

from cloudgeo.common.unavailable import add_gateway_answers, api_of, unavailable_response
from cloudgeo.registry.names import NO_SERVER_PATH, UNAVAILABLE_PATH


@pytest.mark.parametrize(("url", "api"), [
    ("/api/wps/ogcapi/processes/native:buffer/execution", "ogc"),
    ("/api/wps/ogcapi", "ogc"),
    ("/api/wps/wps?service=WPS&request=Execute", "wps10"),
    ("/api/wps/wps/status/abc", "wps10"),
    ("/api/wps/wpsx", "json"),
    ("/api/wps/jobs", "json"),
    ("/api/file/upload", "file"),
    ("/api/filex", "json"),
    ("", "json"),
    ("http://evil.example/api/wps/ogcapi/x", "ogc"),  # the path decides, nothing else
])
def test_the_api_is_read_from_the_public_path(url, api):
    assert api_of(url) == api


@pytest.fixture()
def client():
    app = Flask(__name__)
    app.add_url_rule(UNAVAILABLE_PATH, view_func=unavailable_response)
    return app.test_client()


HOSTILE = "<script>alert(1)</script>"


@pytest.mark.parametrize(("path", "media", "shape"), [
    ("/api/wps/ogcapi/jobs", "application/problem+json", "ogc"),
    ("/api/wps/wps", "text/xml", "wps10"),
    ("/api/wps/jobs", "application/json", "json"),
    ("/api/file/upload", "application/json", "file"),
])
def test_each_api_gets_503_retry_after_in_its_own_error_shape(client, path, media, shape):
    answer = client.get(UNAVAILABLE_PATH, query_string={"url": f"{path}?x={HOSTILE}"})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.mimetype == media
    assert b"script" not in answer.data  # the caller's URL is never written back
    if shape == "ogc":
        assert answer.json["status"] == 503 and "send it again" in answer.json["detail"]
    elif shape == "wps10":
        assert b'exceptionCode="ServerBusy"' in answer.data
    elif shape == "json":
        assert answer.json["success"] is False and "send it again" in answer.json["msg"]
    else:
        assert answer.json["success"] is False and "send it again" in answer.json["message"]


def test_the_ogc_answer_is_application_json_when_that_is_what_the_client_accepts(client):
    """The same problem as the OGC API's own errors (cloudgeo.common.problems)."""
    url = {"url": "/api/wps/ogcapi/jobs"}
    answer = client.get(UNAVAILABLE_PATH, query_string=url,
                        headers={"Accept": "application/json"})
    assert answer.status_code == 503 and answer.mimetype == "application/json"
    assert answer.json["status"] == 503
    answer = client.get(UNAVAILABLE_PATH, query_string=url, headers={"Accept": "*/*"})
    assert answer.mimetype == "application/problem+json"


def test_no_service_of_ours_answers_502():
    """The gateway turns every 502 into the lost-request 503 (it catches the status, not
    its origin): a service answering 502 on its own would lose its answer to it."""
    import re
    from pathlib import Path

    import cloudgeo

    root = Path(cloudgeo.__file__).parent
    services = [p for folder in ("wpsnode", "fileservice", "common")
                for p in (root / folder).rglob("*.py")]
    assert len(services) > 50
    answering = [f"{p.relative_to(root)}:{n}" for p in services
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\b502\b|BAD_GATEWAY|BadGateway", line.split("#")[0])
                 and p.name != "unavailable.py"]
    assert not answering, answering


@pytest.fixture()
def app_client():
    app = Flask(__name__)
    add_gateway_answers(app)
    return app.test_client()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize(("replaced", "media", "field"), [
    ("/api/wps/ogcapi/jobs", "application/problem+json", "detail"),
    ("/api/wps/jobs", "application/json", "msg"),
    ("/api/file/upload", "application/json", "message"),
    (None, "application/json", "msg"),
])
def test_no_server_answers_any_method_in_the_api_the_gateway_names(app_client, method,
                                                                   replaced, media, field):
    """The caller's own request reaches this page, with the caller's public path in
    X-Replaced-Path: 503, Retry-After 5 and 'nothing was done', never the body sent."""
    headers = {"X-Replaced-Path": replaced} if replaced else {}
    answer = app_client.open(NO_SERVER_PATH, method=method, headers=headers,
                             data=HOSTILE.encode(), content_type="application/json")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.mimetype == media
    assert b"script" not in answer.data
    assert "nothing was done" in answer.json[field]


def test_no_server_in_wps_10_is_an_exception_report(app_client):
    answer = app_client.get(NO_SERVER_PATH, headers={"X-Replaced-Path": "/api/wps/wps"})
    assert answer.status_code == 503 and answer.mimetype == "text/xml"
    assert b'exceptionCode="ServerBusy"' in answer.data and b"nothing was done" in answer.data


def test_no_server_reads_the_callers_body_or_closes_the_connection(app_client, monkeypatch):
    """An unread body resets the connection under the gateway (a 502 instead of this
    page): the page reads it, up to a limit, and past it closes the connection."""
    import cloudgeo.common.unavailable as unavailable

    body = b"x" * (3 * 2**20)
    read = app_client.put(NO_SERVER_PATH, data=body)
    assert read.status_code == 503 and "Connection" not in read.headers
    monkeypatch.setattr(unavailable, "DRAIN_LIMIT", 2**20)
    too_big = app_client.put(NO_SERVER_PATH, data=body)
    assert too_big.status_code == 503 and too_big.headers["Connection"] == "close"
