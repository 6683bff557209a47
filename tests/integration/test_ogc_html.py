"""The OGC API's HTML pages on a node (content negotiation, escaping, the security
headers, Swagger UI's files); the browser test drives them: tests/e2e/test_browser.py."""

from __future__ import annotations

import requests

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def get(node, path: str, accept: str = BROWSER, **params) -> requests.Response:
    return requests.get(f"{node.url}/ogcapi{path}", headers={"Accept": accept},
                        params=params, timeout=30)


def test_browsers_get_pages_and_every_other_client_json(wps_node):
    for path in ("/", "/conformance", "/processes", "/processes/native:buffer", "/jobs",
                 "/api"):
        page = get(wps_node, path)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith(
            "text/html"), (path, page.text[:200])
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "<script>" not in page.text  # no inline script anywhere
        for accept in ("*/*", "application/json"):
            assert get(wps_node, path, accept).headers["Content-Type"].startswith(
                ("application/json", "application/vnd.oai.openapi+json")), (path, accept)
        assert get(wps_node, path, accept="*/*", f="html").headers[
            "Content-Type"].startswith("text/html")
        assert get(wps_node, path, f="json").headers["Content-Type"] != "text/html"
    conformance = get(wps_node, "/conformance", "application/json").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html" in conformance


def test_the_process_page_has_a_form_for_its_inputs(wps_node):
    page = get(wps_node, "/processes/native:buffer").text
    assert 'data-input="INPUT" data-kind="file"' in page
    assert 'id="in-DISTANCE" type="number"' in page
    assert '<option value="Round"' in page  # END_CAP_STYLE's options
    assert "/static/execute.js" in page
    assert get(wps_node, "/static/execute.js").status_code == 200


def test_search_lists_matching_processes_and_escapes_what_it_echoes(wps_node):
    page = get(wps_node, "/processes", q="buffer").text
    assert "native:buffer" in page and "native:centroids" not in page
    found = get(wps_node, "/processes", "application/json", q="buffer").json()
    assert found["numberMatched"] >= 1 and all(
        "buffer" in (p["id"] + p["title"] + p["description"]).lower()
        for p in found["processes"])
    hostile = get(wps_node, "/processes", q='<script>alert(1)</script>"><img src=x>').text
    assert "<script>alert(1)" not in hostile and "<img src=x>" not in hostile
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile


def test_swagger_ui_comes_from_the_package(wps_node):
    page = get(wps_node, "/api").text
    assert "swagger-ui-bundle.js" in page and "/static/swagger-init.js" in page
    script = get(wps_node, "/swagger-ui/swagger-ui-bundle.js", "*/*")
    assert script.status_code == 200 and len(script.content) > 500_000
    assert get(wps_node, "/swagger-ui/../../../../etc/passwd", "*/*").status_code == 404
