"""The file service end to end: real gunicorn, real HTTP, real SeaweedFS S3."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re

import pytest
import requests

from cloudgeo.common.managed_processes import free_port
from cloudgeo.localcluster.services import file_service
from cloudgeo.storage.settings import S3Settings


def upload(base: str, data: bytes, filename: str = "point.zip", path: str = "upload",
           headers: dict | None = None) -> requests.Response:
    return requests.put(f"{base}/api/file/{path}", files={"file": (filename, data)},
                        headers=headers, timeout=60)


def assert_error(response: requests.Response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    for word in words:
        assert word in body["message"], body
    return body


def test_upload_answers_with_the_seeds_envelope(file_api, file_store):
    data = os.urandom(10_000)
    response = upload(file_api.url, data, "point.zip")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["message", "success", "data"]
    assert body["success"] is True
    info = body["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", info["name"])
    assert info["objectName"] == info["name"]
    assert info["format"] == "zip"
    assert info["length"] == len(data)
    assert info["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert info["url"].endswith(f"/api/file/retrieve/{info['name']}.zip")
    assert file_store.stat(info["name"]).size == len(data)


def test_find_returns_the_metadata_kept_with_the_object(file_api):
    info = upload(file_api.url, b"abc", "Stra\u00dfen net.geojson").json()["data"]
    found = requests.get(f"{file_api.url}/api/file/find/{info['name']}", timeout=10).json()
    assert found["success"] is True
    data = found["data"]
    assert data["originalName"] == "Stra\u00dfen net.geojson"
    assert data["contentType"] == "application/geo+json"
    assert data["length"] == 3 and data["format"] == "geojson"
    assert re.match(r"\d{4}-\d\d-\d\dT", data["uploadedAt"])


def test_retrieve_streams_the_bytes_with_headers(file_api):
    data = os.urandom(300_000)
    info = upload(file_api.url, data, "ndvi.tif").json()["data"]
    response = requests.get(f"{file_api.url}/api/file/retrieve/{info['name']}.tif", timeout=10)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Type"] == "image/tiff"
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["ETag"] == info["etag"]
    assert response.headers["Accept-Ranges"] == "bytes"


def test_retrieve_with_the_wrong_extension_is_404(file_api):
    info = upload(file_api.url, b"abc", "a.tif").json()["data"]
    r = requests.get(f"{file_api.url}/api/file/retrieve/{info['name']}.gpkg", timeout=10)
    assert_error(r, 404, ".tif")


def test_range_requests(file_api):
    data = bytes(range(256)) * 40
    info = upload(file_api.url, data, "r.bin").json()["data"]
    url = f"{file_api.url}/api/file/retrieve/{info['name']}.bin"
    for header, expected, content_range in [
        ("bytes=10-19", data[10:20], f"bytes 10-19/{len(data)}"),
        ("bytes=10000-", data[10000:], f"bytes 10000-{len(data) - 1}/{len(data)}"),
        ("bytes=-5", data[-5:], f"bytes {len(data) - 5}-{len(data) - 1}/{len(data)}"),
    ]:
        r = requests.get(url, headers={"Range": header}, timeout=10)
        assert r.status_code == 206, header
        assert r.content == expected
        assert r.headers["Content-Range"] == content_range
        assert r.headers["Content-Length"] == str(len(expected))
    r = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert_error(r, 416, "Range")
    assert r.headers["Content-Range"] == f"bytes */{len(data)}"
    # If-Range with a stale validator sends the whole file.
    r = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'}, timeout=10)
    assert r.status_code == 200 and r.content == data


def test_etag_and_if_none_match(file_api):
    info = upload(file_api.url, b"cache me", "c.txt").json()["data"]
    url = f"{file_api.url}/api/file/retrieve/{info['name']}.txt"
    r = requests.get(url, headers={"If-None-Match": info["etag"]}, timeout=10)
    assert r.status_code == 304 and r.content == b""
    assert r.headers["ETag"] == info["etag"]
    assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=10).status_code == 200


def test_head_sends_headers_only(file_api):
    info = upload(file_api.url, b"x" * 1234, "h.bin").json()["data"]
    r = requests.head(f"{file_api.url}/api/file/retrieve/{info['name']}.bin", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "1234"
    assert r.content == b""


def test_delete_then_everything_is_404(file_api, file_store):
    info = upload(file_api.url, b"bye", "d.zip").json()["data"]
    r = requests.delete(f"{file_api.url}/api/file/delete/{info['name']}", timeout=10)
    assert r.status_code == 200 and r.json()["data"]["name"] == info["name"]
    assert info["name"] not in file_store.keys(info["name"])
    assert_error(requests.get(f"{file_api.url}/api/file/find/{info['name']}", timeout=10),
                 404, info["name"])
    assert_error(requests.delete(f"{file_api.url}/api/file/delete/{info['name']}", timeout=10),
                 404, info["name"])
    assert_error(requests.get(f"{file_api.url}/api/file/retrieve/{info['name']}.zip",
                              timeout=10), 404)


def test_force_name_creates_then_overwrites(file_api):
    name = f"roads-{os.getpid()}"
    first = upload(file_api.url, b"v1", "roads.geojson", f"upload-force-name/{name}")
    assert first.status_code == 200
    assert first.json()["data"]["name"] == name
    assert first.json()["data"]["format"] == "geojson"
    second = upload(file_api.url, b"version 2", "roads.geojson", f"upload-force-name/{name}")
    assert second.status_code == 200
    got = requests.get(f"{file_api.url}/api/file/retrieve/{name}.geojson", timeout=10)
    assert got.content == b"version 2"
    # Create-only: If-None-Match: * refuses to replace, and keeps what is stored.
    refused = upload(file_api.url, b"v3", "roads.geojson", f"upload-force-name/{name}",
                     headers={"If-None-Match": "*"})
    assert_error(refused, 412, name)
    assert requests.get(f"{file_api.url}/api/file/retrieve/{name}.geojson",
                        timeout=10).content == b"version 2"


def test_force_name_with_its_own_extension(file_api):
    name = f"dem-{os.getpid()}"
    r = upload(file_api.url, b"tiff", "whatever.bin", f"upload-force-name/{name}.tif")
    assert r.json()["data"]["format"] == "tif"
    assert requests.get(f"{file_api.url}/api/file/retrieve/{name}.tif",
                        timeout=10).status_code == 200


@pytest.mark.parametrize(("path", "word"), [
    ("upload-force-name/a%2Fb", "path separator"),
    ("upload-force-name/a..b", "'..'"),
    ("upload-force-name/a%01b", "control characters"),
    ("upload-force-name/" + "n" * 200, "longer than 128"),
    ("upload-force-name/has%20space", "letters, digits"),
])
def test_bad_forced_names_are_400(file_api, file_store, path, word):
    before = set(file_store.keys())
    body = assert_error(upload(file_api.url, b"x", "a.zip", path), 400, word)
    assert body["data"] == {"field": "name"}
    assert set(file_store.keys()) == before


@pytest.mark.parametrize(("path", "word"), [
    ("find/a%2F..%2Fb", "path separator"),
    ("find/a%00b", "control characters"),
    ("retrieve/justanid", "'<id>.<extension>'"),
    ("retrieve/a..b.tif", "'..'"),
])
def test_bad_names_elsewhere_are_400(file_api, path, word):
    assert_error(requests.get(f"{file_api.url}/api/file/{path}", timeout=10), 400, word)


def test_unknown_id_is_404(file_api):
    assert_error(requests.get(f"{file_api.url}/api/file/find/{'0' * 32}", timeout=10),
                 404, "0" * 32)


def test_missing_file_field_is_400(file_api):
    r = requests.put(f"{file_api.url}/api/file/upload",
                     files={"upload": ("a.zip", b"x")}, timeout=10)
    body = assert_error(r, 400, "'file'")
    assert body["data"] == {"field": "file"}
    r = requests.put(f"{file_api.url}/api/file/upload", data=b"raw bytes",
                     headers={"Content-Type": "application/zip"}, timeout=10)
    assert_error(r, 400, "multipart/form-data", "'file'")


def test_unknown_route_and_method_use_the_envelope(file_api):
    assert_error(requests.get(f"{file_api.url}/api/file/nothing", timeout=10), 404)
    assert_error(requests.get(f"{file_api.url}/api/file/upload", timeout=10), 405)


def test_ten_concurrent_uploads(file_api):
    payloads = [os.urandom(200_000 + i) for i in range(10)]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda d: upload(file_api.url, d, "c.tif"), payloads))
    names = [r.json()["data"]["name"] for r in responses]
    assert len(set(names)) == 10
    for name, data in zip(names, payloads, strict=True):
        got = requests.get(f"{file_api.url}/api/file/retrieve/{name}.tif", timeout=10)
        assert got.content == data


def test_metrics_add_up_across_workers(file_api):
    def count(text: str) -> float:
        pattern = r'cloudgeo_file_requests_total\{method="GET",route="/health",status="200"\} (\S+)'
        match = re.search(pattern, text)
        return float(match.group(1)) if match else 0.0

    before = count(requests.get(f"{file_api.url}/metrics", timeout=10).text)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: requests.get(f"{file_api.url}/health", timeout=10), range(40)))
    text = requests.get(f"{file_api.url}/metrics", timeout=10).text
    assert count(text) - before == 40
    for name in ("cloudgeo_file_bytes_received_total", "cloudgeo_file_bytes_sent_total",
                 "cloudgeo_file_request_duration_seconds_bucket"):
        assert name in text


def test_health_says_when_object_storage_is_down(state_root):
    dead = S3Settings(endpoint=f"127.0.0.1:{free_port()}", timeout=2)
    service = file_service(state_root / "dead-s3", dead).start(health_status=503)
    try:
        health = requests.get(f"{service.url}/health", timeout=10)
        assert_error(health, 503, "unreachable", dead.endpoint)
        assert health.json()["data"] == {"objectStorage": "down"}
        assert_error(upload(service.url, b"x", "a.zip"), 503, "unreachable")
        assert_error(requests.get(f"{service.url}/api/file/find/abc", timeout=10), 503)
    finally:
        service.stop()
