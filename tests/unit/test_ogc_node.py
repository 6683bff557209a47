"""The OGC API as a node's app answers it, in the test's process (no QGIS algorithm, no
Redis behind it): error media types, the landing page's links, redirects."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from cloudgeo.common.problems import problem_media_type
from tests.support.node_app import empty_catalog, node_app

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    folder = tmp_path_factory.mktemp("node")
    return node_app(empty_catalog(folder), folder).test_client()


@pytest.mark.parametrize(("accept", "media"), [
    (None, "application/problem+json"),
    ("*/*", "application/problem+json"),
    ("application/problem+json", "application/problem+json"),
    ("application/json, application/problem+json;q=0.5", "application/problem+json"),
    ("application/*", "application/problem+json"),
    ("application/json", "application/json"),
    ("application/json;q=0.9, */*;q=0.1", "application/json"),
    ("application/json, application/problem+json;q=0", "application/json"),
])
def test_a_problem_goes_out_as_the_media_type_the_client_accepts(accept, media):
    assert problem_media_type(parse_accept_header(accept, MIMEAccept)) == media


@pytest.mark.parametrize(("accept", "media"), [
    ({}, "application/problem+json"),
    ({"Accept": "application/json"}, "application/json"),
    ({"Accept": "application/problem+json, application/json"}, "application/problem+json"),
])
def test_ogc_errors_answer_in_the_accepted_media_type_with_the_same_body(node, accept,
                                                                       media):
    for path, status, kind in (("/ogcapi/processes/native:nothing", 404, "no-such-process"),
                               ("/ogcapi/processes?limit=none", 400, "invalid-parameter"),
                               ("/ogcapi/jobs", 404, "not-found")):
        answer = node.get(path, headers=accept)
        assert answer.status_code == status
        assert answer.mimetype == media, (path, accept)
        problem = json.loads(answer.data)
        assert problem["status"] == status and problem["type"].endswith(kind), problem


JOB_LIST_REL = "http://www.opengis.net/def/rel/ogc/1.0/job-list"


@pytest.fixture(scope="module")
def public_jobs_node(tmp_path_factory):
    folder = tmp_path_factory.mktemp("public-jobs-node")
    return node_app(empty_catalog(folder), folder, job_list="public").test_client()


def test_the_landing_page_links_the_job_list_only_when_it_is_offered(node,
                                                                     public_jobs_node):
    closed = node.get("/ogcapi/", headers={"Accept": "application/json"}).json
    assert JOB_LIST_REL not in {link["rel"] for link in closed["links"]}
    assert node.get("/ogcapi/jobs").status_code == 404
    assert f"{CONF}/job-list" not in node.get("/ogcapi/conformance").json["conformsTo"]
    page = node.get("/ogcapi/", headers={"Accept": "text/html"}).text
    assert "/jobs" not in page  # neither in the links nor in the pages' menu

    offered = public_jobs_node.get("/ogcapi/").json
    (href,) = [link["href"] for link in offered["links"] if link["rel"] == JOB_LIST_REL]
    assert href == "http://localhost/ogcapi/jobs"
    assert f"{CONF}/job-list" in public_jobs_node.get("/ogcapi/conformance").json["conformsTo"]
    assert "/ogcapi/jobs?f=html" in public_jobs_node.get("/ogcapi/?f=html").text


GATEWAY = {"Host": "127.0.0.1:9000", "X-Forwarded-Prefix": "/api/wps"}


@pytest.mark.parametrize(("path", "location"), [
    ("/ogcapi", "/ogcapi/"),  # the landing page's rule ends with a slash
    ("/ogcapi//processes", "/ogcapi/processes"),  # merged slashes
])
def test_redirects_keep_the_gateways_prefix(node, path, location):
    """Behind the gateway (which strips /api/wps and says so in X-Forwarded-Prefix) a
    redirect points at the public path, as every link does; called directly, at the
    node's own."""
    answer = node.get(path, headers=GATEWAY)
    assert answer.status_code == 308
    assert answer.headers["Location"] == f"http://127.0.0.1:9000/api/wps{location}"
    assert node.get(path).headers["Location"] == f"http://localhost{location}"
    landing = node.get("/ogcapi/", headers=GATEWAY).json
    assert {link["href"].split("/ogcapi")[0] for link in landing["links"]} == {
        "http://127.0.0.1:9000/api/wps"}


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/ogcapi/no/such/thing", 404),  # no route: Flask's own 404
    ("delete", "/ogcapi/processes", 405),  # a route, not this method
    ("get", "/ogcapi/jobs/abc", 503),  # no Redis behind this node: the job store is down
])
def test_every_error_under_ogcapi_is_a_problem_document(node, method, path, status):
    answer = getattr(node, method)(path, headers={"Accept": "application/json"})
    assert answer.status_code == status
    assert answer.mimetype == "application/json"
    problem = json.loads(answer.data)
    assert problem["status"] == status and problem["type"] == "about:blank"
    assert problem["title"] and problem["detail"], problem
    if status == 405:
        assert "GET" in answer.headers["Allow"]
    if status == 503:
        assert answer.headers["Retry-After"] == "5"
    # Outside /ogcapi the node answers in the CloudGeo JSON API's envelope, as before.
    other = node.get("/no/such/thing")
    assert other.status_code == 404 and other.json["success"] is False
