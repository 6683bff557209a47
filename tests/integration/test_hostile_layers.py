"""Hostile layer files against real local clusters: a layer is a program too.

Each file of tests/support/hostile_layers.py (a GDAL VRT over a local file, a WMS
description pointing at a loopback listener...) is uploaded through the gateway and
given to a real algorithm on the CloudGeo JSON API, the OGC API and WPS 1.0.0, as it is
and inside a zip. With the defaults, each is refused (400, naming the input and its
format) before the algorithm runs. Then a second cluster accepts every one of those
formats on purpose (CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE): the QGIS process's sandbox
alone must still keep every secret out of the responses and the outputs, and the
loopback listener must still count no request. Every target is on 127.0.0.1.
"""

from __future__ import annotations

import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from cloudgeo.localcluster.cluster import ClusterAccess
from cloudgeo.samples import four_band_geotiff, point_shapefile_zip
from cloudgeo.storage.settings import S3Settings
from tests.support.cluster import start_cluster, upload
from tests.support.hostile_layers import (
    HostileLayer,
    allowed_driver_layers,
    hostile_layers,
    zipped,
)
from tests.support.wps import download, ref

ALGORITHMS = {"raster": ("gdal:translate", "INPUT"), "vector": ("native:centroids", "INPUT")}
SECRET_TEXT = "cloudgeo-test-secret-4f1c2a"
MARKER_BYTES = 12  # an MRF reads only 16 bytes: the start of a target is a secret too


class Listener:
    """A loopback HTTP server that counts what reaches it (it must stay at zero)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_HEAD = do_GET

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/listener"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def secret_file(state_root: Path) -> Path:
    """A file outside every job's folder, as another caller's data or a mounted secret."""
    path = state_root / "not-for-callers" / "secret.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"secret_id,value\n1,{SECRET_TEXT}\n")
    return path


@pytest.fixture(scope="module")
def strict_cluster(state_root, catalog_path):
    local, state = start_cluster(state_root, catalog_path, "layers-strict", qgis_workers=1)
    yield state
    local.down()


def corpus(secret: str, url: str) -> list[HostileLayer]:
    """Files of refused formats, then files of allowed formats that still reach out on
    plain GDAL, each as it is and inside a zip."""
    layers = hostile_layers(secret, url) + allowed_driver_layers(secret, url)
    return layers + [zipped(layer) for layer in layers]


REFUSED_DRIVERS = {layer.driver for layer in hostile_layers("/x", "http://127.0.0.1:1/")}


CORPUS_IDS = [layer.name for layer in corpus("/etc/passwd", "http://127.0.0.1:1/")]


def targets(secret_file: Path, state) -> dict[str, list[bytes]]:
    """What the files try to read (a file outside the job, /etc/passwd, the node's
    environment), each with what must never come back: its first bytes, the S3 keys,
    the secret text."""
    node_pid = next(c.pid for c in state.components if c.name == "wps-node-1")
    s3 = S3Settings.from_env(next(c.env for c in state.components if c.name == "wps-node-1"))
    always = [s3.secret_key.encode(), s3.access_key.encode(), SECRET_TEXT.encode()]
    paths = [str(secret_file), "/etc/passwd", f"/proc/{node_pid}/environ"]
    return {path: [Path(path).read_bytes()[:MARKER_BYTES], *always] for path in paths}


def execute(api: str, gateway: str, layer: HostileLayer, link: str) -> requests.Response:
    """The layer given to a real algorithm on one API. A 503 with Retry-After (the node
    out of rotation for a moment, e.g. its only worker replaced after a QGIS crash:
    nothing was done) is sent again after the time it asks for, as a client should."""
    for _ in range(5):
        response = _execute_once(api, gateway, layer, link)
        if response.status_code != 503 or "Retry-After" not in response.headers:
            break
        time.sleep(int(response.headers["Retry-After"]))
    return response


def _execute_once(api: str, gateway: str, layer: HostileLayer, link: str
                  ) -> requests.Response:
    identifier, name = ALGORITHMS[layer.kind]
    if api == "json":
        return requests.post(f"{gateway}/api/wps/jobs", timeout=120, json={
            "identifier": identifier, "inputs": {name: ref(link)}})
    if api == "ogc":
        return requests.post(f"{gateway}/api/wps/ogcapi/processes/{identifier}/execution",
                             timeout=120, json={"inputs": {name: {"href": link}}})
    return requests.get(f"{gateway}/api/wps/wps", timeout=120, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": identifier, "DataInputs": f"{name}=@xlink:href={link}"})


def everything_sent_back(response: requests.Response, uploaded: str) -> bytes:
    """The response and every output it links to, rasters decoded to their pixels' bytes
    (not the hostile upload itself, which GDAL here would follow)."""
    sent = response.content
    for link in set(_links(response.text)) - {uploaded}:
        path = download(link)
        sent += path.read_bytes() + _pixels(path)
    return sent


def _links(text: str) -> list[str]:
    import re

    return re.findall(r"http://127\.0\.0\.1:\d+/api/file/retrieve/[\w.-]+", text)


def _pixels(path: Path) -> bytes:
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    if dataset is None:
        return b""
    return b"".join(dataset.GetRasterBand(i + 1).ReadRaster()
                    for i in range(dataset.RasterCount))


def _upload(gateway: str, folder: Path, layer: HostileLayer) -> str:
    path = folder / layer.filename
    path.write_bytes(layer.content)
    return upload(gateway, path)


def assert_refused(api: str, response: requests.Response) -> None:
    """A bad input's answer on each API: a 400 naming it; WPS 1.0.0 reports a failed
    Execute inside its ExecuteResponse (HTTP 200, ProcessFailed), as the standard says."""
    if api == "wps":
        assert response.status_code == 200 and "ProcessFailed" in response.text, \
            response.text[-1500:]
    else:
        assert response.status_code == 400, response.text[:500]
    assert "INPUT" in response.text, response.text[-1500:]


@pytest.mark.parametrize("index", range(len(CORPUS_IDS)), ids=CORPUS_IDS)
@pytest.mark.parametrize("api", ["json", "ogc", "wps"])
def test_a_hostile_layer_is_refused_or_finds_nothing(strict_cluster, listener, secret_file,
                                                     tmp_path, api, index):
    """A refused format is a 400 naming the input and the format (inside a zip, its
    extension may not even count as a layer: a 400 too); a file of an allowed format
    that names an overview file is refused; the rest run and find nothing."""
    gateway = strict_cluster.gateway_url
    listener.requests.clear()
    for target, secrets in targets(secret_file, strict_cluster).items():
        layer = corpus(target, listener.url)[index]
        link = _upload(gateway, tmp_path, layer)
        response = execute(api, gateway, layer, link)
        text = response.text
        if layer.driver in REFUSED_DRIVERS:
            assert_refused(api, response)
            assert (layer.driver in text and "not accepted as an input" in text) or (
                layer.filename.endswith(".zip") and "holds no" in text), text[-1500:]
        elif layer.driver in ("GTiff", "JP2OpenJPEG"):
            assert_refused(api, response)
            assert "OVERVIEW_FILE" in text, text[-1500:]
        sent = everything_sent_back(response, link)
        for secret in secrets:
            assert secret not in sent, (layer.name, target)
    assert listener.requests == []


@pytest.fixture(scope="module")
def widened_cluster(state_root, catalog_path):
    """Every format of the corpus accepted on purpose: only the sandbox stands."""
    drivers = sorted(REFUSED_DRIVERS)
    local, state = start_cluster(
        state_root, catalog_path, "layers-widened", qgis_workers=1,
        access=_access(("input_formats_include", ",".join(drivers))))
    yield state
    local.down()


def _access(*settings: tuple[str, str]) -> ClusterAccess:
    return ClusterAccess("none", node_settings=settings)


@pytest.mark.parametrize("index", range(len(CORPUS_IDS)), ids=CORPUS_IDS)
def test_the_sandbox_alone_still_holds(widened_cluster, listener, secret_file, tmp_path, index):
    gateway = widened_cluster.gateway_url
    listener.requests.clear()
    for target, secrets in targets(secret_file, widened_cluster).items():
        layer = corpus(target, listener.url)[index]
        link = _upload(gateway, tmp_path, layer)
        response = execute("json", gateway, layer, link)
        assert response.status_code in (200, 400, 422), response.text[:500]
        assert "not accepted as an input" not in response.text  # the allow-list let it by
        sent = everything_sent_back(response, link)
        for secret in secrets:
            assert secret not in sent, (layer.name, target)
    assert listener.requests == []


def test_the_formats_users_upload_still_run(strict_cluster, tmp_path):
    """The allow-list lets through what users upload: a zipped shapefile, a GeoTIFF."""
    gateway = strict_cluster.gateway_url
    points = point_shapefile_zip(tmp_path, count=5)
    assert zipfile.is_zipfile(points)
    for identifier, path in (("native:centroids", points),
                             ("gdal:translate", four_band_geotiff(tmp_path))):
        r = requests.post(f"{gateway}/api/wps/jobs", timeout=120, json={
            "identifier": identifier, "inputs": {"INPUT": ref(upload(gateway, path))}})
        assert r.status_code == 200, r.text[:500]
