"""Bad requests to a WPS node get a clear 4xx envelope naming the culprit, and cost nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
import requests

from tests.support.wps import execute, ref


def assert_refused(response: requests.Response, status: int, field: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["data"]["field"] == field
    for word in words:
        assert word in body["msg"], body["msg"]


def put(file_url: str, name: str, data: bytes) -> str:
    r = requests.put(f"{file_url}/api/file/upload", files={"file": (name, data)}, timeout=30)
    return r.json()["data"]["url"]


def test_unknown_identifier_is_404(wps_node):
    r = execute(wps_node.url, "native:nosuchthing", {})
    assert_refused(r, 404, "identifier", "native:nosuchthing")
    r = requests.get(f"{wps_node.url}/processes/native:nosuchthing", timeout=10)
    assert_refused(r, 404, "identifier", "native:nosuchthing")


@pytest.mark.parametrize(("inputs", "field", "words"), [
    ({"DISTANCE": 5}, "INPUT", ["'INPUT'", "required"]),
    ({"INPUT": "PLACEHOLDER", "DISTANCE": "abc"}, "DISTANCE", ["'DISTANCE'", "number"]),
    ({"INPUT": "PLACEHOLDER", "SEGMENTS": 2.5}, "SEGMENTS", ["whole number"]),
    ({"INPUT": "PLACEHOLDER", "SEGMENTS": 0}, "SEGMENTS", ["at least 1"]),
    ({"INPUT": "PLACEHOLDER", "END_CAP_STYLE": "Pointy"}, "END_CAP_STYLE", ["'Pointy'",
                                                                            "Round"]),
    ({"INPUT": "PLACEHOLDER", "END_CAP_STYLE": 7}, "END_CAP_STYLE", ["out of range"]),
    ({"INPUT": "PLACEHOLDER", "DISSOLVE": "perhaps"}, "DISSOLVE", ["true or false"]),
    ({"INPUT": "PLACEHOLDER", "COLOUR": 1}, "COLOUR", ["no such input"]),
    ({"INPUT": {"href": 42}}, "INPUT", ["reference"]),
    ({"INPUT": "ftp://127.0.0.1/x.zip"}, "INPUT", ["http and https"]),
])
def test_inputs_are_checked_before_queueing(wps_node, samples, inputs, field, words):
    inputs = {k: (ref(samples["points"]) if v == "PLACEHOLDER" else v)
              for k, v in inputs.items()}
    r = execute(wps_node.url, "native:buffer", inputs)
    assert_refused(r, 400, field, *words)


@pytest.mark.parametrize(("body", "field"), [
    (b"not json", "body"), (b"[1, 2]", "body"), (b'{"inputs": {}}', "identifier"),
    (b'{"identifier": "native:buffer", "mode": "later"}', "mode"),
    (b'{"identifier": "native:buffer", "inputs": [1]}', "inputs"),
])
def test_malformed_bodies(wps_node, body, field):
    r = requests.post(f"{wps_node.url}/jobs", data=body,
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert_refused(r, 400, field, f"'{field}'" if field != "body" else "JSON object")


def test_disallowed_host_is_refused_up_front(wps_node, redis_server):
    # Another service on this machine, on a port the allow-list does not name.
    href = f"http://127.0.0.1:{redis_server.port}/api/file/retrieve/x.zip"
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(href)})
    assert_refused(r, 400, "INPUT", "allow-list", f"127.0.0.1:{redis_server.port}")


def test_unreachable_href(wps_node, dead_port):
    r = execute(wps_node.url, "native:buffer",
                {"INPUT": ref(f"http://127.0.0.1:{dead_port}/data/points.zip")})
    assert_refused(r, 400, "INPUT", "cannot be reached")


def test_missing_file_behind_a_file_service_link(wps_node, file_api):
    r = execute(wps_node.url, "native:buffer",
                {"INPUT": ref(f"{file_api.url}/api/file/retrieve/{'0' * 32}.zip")})
    assert_refused(r, 400, "INPUT", "does not exist")


def test_href_to_a_file_that_is_not_geodata(wps_node, file_api):
    href = put(file_api.url, "notes.txt", b"these are not features\n" * 10)
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(href)})
    assert_refused(r, 400, "INPUT", "not a readable vector layer")


def test_zip_with_parent_directory_entries(wps_node, file_api):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("../../escape.shp", b"x")
    href = put(file_api.url, "evil.zip", buffer.getvalue())
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(href)})
    assert_refused(r, 400, "INPUT", "points outside")


def test_zip_without_a_layer(wps_node, file_api):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("readme.txt", b"nothing here")
    href = put(file_api.url, "empty.zip", buffer.getvalue())
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(href)})
    assert_refused(r, 400, "INPUT", "holds no vector layer")


def test_unknown_job_is_404(wps_node):
    for path in ("jobs", "job"):
        r = requests.get(f"{wps_node.url}/{path}/{'f' * 32}", timeout=10)
        assert_refused(r, 404, "jobId", "f" * 32)


def test_algorithm_failure_carries_its_own_message(wps_node, samples):
    r = execute(wps_node.url, "gdal:rastercalculator",
                {"INPUT_A": ref(samples["bands"]), "BAND_A": 9, "FORMULA": "A*2"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["success"] is False and body["data"]["status"] == "failed"
    # GDAL's own words about the band that does not exist.
    assert "gdal:rastercalculator failed" in body["msg"] and "9" in body["msg"]


def test_the_node_still_serves_after_all_that(wps_node, samples):
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(samples["points"])})
    assert r.status_code == 200 and r.json()["data"]["status"] == "succeeded"


GEOJSON = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
           b' "geometry": {"type": "Point", "coordinates": [1, 2]}}]}')


def test_inputs_from_another_allowed_host_over_http(wps_node, foreign_host):
    base, routes = foreign_host
    routes["/layers/one.geojson"] = (200, {"Content-Type": "application/geo+json"}, GEOJSON)
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(f"{base}/layers/one.geojson")})
    assert r.status_code == 200, r.text


def test_redirects_are_not_followed(wps_node, foreign_host, file_api):
    base, routes = foreign_host
    routes["/moved.geojson"] = (302, {"Location": f"{file_api.url}/api/file/find/x"}, b"")
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(f"{base}/moved.geojson")})
    assert_refused(r, 400, "INPUT", "redirects are not followed")


def test_inputs_over_the_size_cap(wps_node, foreign_host):
    base, routes = foreign_host
    routes["/huge.geojson"] = (200, {}, b" " * (1024**2 + 1))  # node-a's cap is 1 MiB
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(f"{base}/huge.geojson")})
    assert_refused(r, 400, "INPUT", "larger than the 1048576-byte limit")


def test_http_errors_of_the_input_host(wps_node, foreign_host):
    base, _ = foreign_host
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(f"{base}/nothing.geojson")})
    assert_refused(r, 400, "INPUT", "HTTP 404")
