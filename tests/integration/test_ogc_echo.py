"""The builtin `echo` process on a real node (OGC API only, run by a QGIS worker like
any job), and the node's size limits: the request body and inline outputs."""

from __future__ import annotations

import base64
import time

import pytest
import redis
import requests

from cloudgeo.wpsnode.jobs.store import INDEX
from tests.conftest import start_wps_node
from tests.support.ogc_schemas import errors

EXC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode()
GIVEN = {
    "stringInput": "Value2",
    "measureInput": {"measurement": 10.3, "uom": "m"},
    "dateInput": "2026-12-03T10:00:00Z",
    "doubleInput": 3.5,
    "arrayInput": [1, 2, 3],
    "complexObjectInput": {"property1": "a", "nested": {"n": [1, None, True]}},
    "geometryInput": {"type": "Point", "coordinates": [5.5, 52.1]},
    "boundingBoxInput": {"bbox": [51.9, 7, 52, 7.1], "crs": "http://www.opengis.net/def/crs/EPSG/0/4326"},
    "featureCollectionInput": {"type": "FeatureCollection", "features": []},
}


def echo(node, body: dict, **headers: str) -> requests.Response:
    return requests.post(f"{node.url}/ogcapi/processes/echo/execution", json=body,
                         headers=headers, timeout=60)


def test_echo_is_listed_and_described_on_the_ogc_api_only(wps_node):
    found = requests.get(f"{wps_node.url}/ogcapi/processes", params={"q": "echo"},
                         timeout=10).json()
    assert "echo" in [p["id"] for p in found["processes"]]
    described = requests.get(f"{wps_node.url}/ogcapi/processes/echo", timeout=10).json()
    assert set(described["inputs"]) == set(GIVEN) | {"imagesInput", "pause"}
    assert "pauseOutput" not in described["outputs"]
    assert described["outputs"]["stringOutput"]["schema"]["enum"] == ["Value1", "Value2",
                                                                      "Value3"]
    assert described["outputTransmission"] == ["value"]
    # Not a QGIS algorithm: the seed JSON API and WPS 1.0.0 do not know it.
    r = requests.post(f"{wps_node.url}/jobs", json={"identifier": "echo", "inputs": {}},
                      timeout=10)
    assert r.status_code == 404, r.text
    r = requests.get(f"{wps_node.url}/wps", params={
        "service": "WPS", "version": "1.0.0", "request": "DescribeProcess",
        "identifier": "echo"}, timeout=10)
    assert r.status_code == 400 and "echo" in r.text


def test_echo_sync_document_returns_every_input(wps_node):
    r = echo(wps_node, {"inputs": {**GIVEN, "imagesInput": {"value": PNG,
                                                            "mediaType": "image/png"}}})
    assert r.status_code == 200, r.text
    expected = {name.removesuffix("Input") + "Output": value for name, value in GIVEN.items()}
    document = r.json()
    image = document.pop("imagesOutput")
    assert document == expected
    assert image == {"value": PNG, "encoding": "base64", "mediaType": "image/png"}
    # Only the outputs asked for.
    r = echo(wps_node, {"inputs": GIVEN, "outputs": {"doubleOutput": {}}})
    assert r.status_code == 200 and r.json() == {"doubleOutput": 3.5}, r.text


def test_echo_raw_one_output_is_the_value_itself(wps_node):
    r = echo(wps_node, {"inputs": {"imagesInput": PNG}, "response": "raw"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.content == base64.b64decode(PNG)
    r = echo(wps_node, {"inputs": {"stringInput": "Value3"}, "response": "raw"})
    assert r.status_code == 200 and r.content == b"Value3", r.text
    assert r.headers["Content-Type"].startswith("text/plain")


def test_echo_async_job_and_results(wps_node):
    r = echo(wps_node, {"inputs": {"arrayInput": [4, 5]}}, Prefer="respond-async")
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    deadline = time.monotonic() + 60
    while (status := requests.get(location, timeout=10).json()["status"]) != "successful":
        assert status in ("accepted", "running") and time.monotonic() < deadline, status
        time.sleep(0.1)
    assert requests.get(f"{location}/results", timeout=10).json() == {"arrayOutput": [4, 5]}


def test_results_of_a_paused_echo_are_not_ready_until_it_has_answered(wps_node):
    """What OGC's test suite does for result-not-ready: echo, async, with a pause."""
    r = echo(wps_node, {"inputs": {"stringInput": "Value1", "pause": 3}, "response": "raw"},
             Prefer="respond-async")
    assert r.status_code == 201, r.text
    accepted = r.json()
    assert None not in accepted.values() and "finished" not in accepted, accepted
    assert errors("statusInfo.yaml", accepted) == []
    location = r.headers["Location"]
    r = requests.get(f"{location}/results", headers={"Accept": "application/json"},
                     timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    assert r.json()["type"] == f"{EXC}/result-not-ready"
    assert errors("exception.yaml", r.json()) == []
    deadline = time.monotonic() + 60
    while (status := requests.get(location, timeout=10).json())["status"] != "successful":
        assert status["status"] in ("accepted", "running") and time.monotonic() < deadline
        time.sleep(0.2)
    assert errors("statusInfo.yaml", status) == []
    assert status["finished"] > status["started"]
    r = requests.get(f"{location}/results", timeout=10)
    assert r.status_code == 200 and r.content == b"Value1", r.text


@pytest.mark.parametrize(("inputs", "field"), [
    ({"stringInput": "Value9"}, "stringInput"),
    ({"arrayInput": [1]}, "arrayInput"),
    ({"arrayInput": [1, "two"]}, "arrayInput"),
    ({"doubleInput": 10}, "doubleInput"),
    ({"dateInput": "yesterday"}, "dateInput"),
    ({"measureInput": {"measurement": 1}}, "measureInput"),
    ({"geometryInput": {"type": "Circle", "coordinates": []}}, "geometryInput"),
    ({"boundingBoxInput": {"bbox": [1, 2, 3]}}, "boundingBoxInput"),
    ({"imagesInput": "not base64!"}, "imagesInput"),
    # A caller's bytes are never served as a page of our origin.
    ({"imagesInput": {"value": PNG, "mediaType": "text/html"}}, "imagesInput"),
    ({"imagesInput": [PNG] * 11}, "imagesInput"),
    ({"shellInput": "$(id)"}, "shellInput"),
    ({"pause": 11}, "pause"),  # a worker is held 10 s at most
])
def test_bad_echo_input_is_refused_naming_it_and_queues_nothing(wps_node, redis_server,
                                                                inputs, field):
    jobs = redis.Redis.from_url(redis_server.url)
    before = jobs.zcard(INDEX)
    r = echo(wps_node, {"inputs": inputs})
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert f"input '{field}'" in r.json()["detail"], r.json()
    assert jobs.zcard(INDEX) == before


def test_an_echo_output_by_reference_is_refused(wps_node):
    r = echo(wps_node, {"inputs": {"stringInput": "Value1"},
                        "outputs": {"stringOutput": {"transmissionMode": "reference"}}})
    assert r.status_code == 400 and "outputs.stringOutput" in r.json()["detail"], r.text


@pytest.fixture(scope="module")
def small_node(state_root, file_s3, file_api, redis_server, catalog_path):
    """A node with small limits: 64 KiB request bodies, 2 KiB inline outputs."""
    node = start_wps_node(state_root, "node-small", file_s3, redis_server.url, file_api.url,
                          catalog_path, qgis_workers="1", max_request_body=str(64 * 1024),
                          max_inline_output="2048", queue="cloudgeo.small",
                          builtin_processes="")
    yield node
    node.stop()


def test_request_body_above_the_limit_is_413_and_queues_nothing(small_node, redis_server):
    jobs = redis.Redis.from_url(redis_server.url)
    before = jobs.zcard(INDEX)
    body = {"inputs": {"DISTANCE": 1, "padding": "x" * (64 * 1024)}}
    r = requests.post(f"{small_node.url}/ogcapi/processes/native:buffer/execution",
                      json=body, timeout=30)
    assert r.status_code == 413, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "65536" in r.json()["detail"]
    r = requests.post(f"{small_node.url}/jobs", json={"identifier": "native:buffer", **body},
                      timeout=30)
    assert r.status_code == 413 and r.json()["success"] is False, r.text
    assert jobs.zcard(INDEX) == before


def test_inline_output_above_the_limit_is_refused_naming_it(small_node, samples):
    url = f"{small_node.url}/ogcapi/processes/native:buffer/execution"
    inputs = {"INPUT": {"href": samples["points"]}, "DISTANCE": 10}
    by_value = {"OUTPUT": {"transmissionMode": "value",
                           "format": {"mediaType": "application/geo+json"}}}
    r = requests.post(url, json={"inputs": inputs, "outputs": by_value}, timeout=120)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "outputs.OUTPUT.transmissionMode" in detail and "2048" in detail
    # The same output raw streams whatever its size; by reference is a link.
    r = requests.post(url, json={"inputs": inputs, "outputs": by_value, "response": "raw"},
                      timeout=120)
    assert r.status_code == 200 and len(r.json()["features"]) == 10
    assert len(r.content) > 2048
    # With no builtin processes published, echo is unknown.
    r = requests.post(f"{small_node.url}/ogcapi/processes/echo/execution",
                      json={"inputs": {}}, timeout=10)
    assert r.status_code == 404, r.text
