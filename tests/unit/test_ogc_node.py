"""The OGC API as a node's app answers it, in the test's process (no QGIS algorithm, no
Redis behind it): error media types, the landing page's links, redirects."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from cloudgeo.common.problems import problem_media_type
from tests.support.node_app import empty_catalog, node_app

EXC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"


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
