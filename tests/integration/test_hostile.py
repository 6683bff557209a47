"""Hostile requests against real local clusters (`cloudgeo up`: Traefik, a WPS node with a
QGIS worker, Redis, SeaweedFS, the file service), each refused with nothing happening.

Three clusters: without authentication (the defaults), with HTTP basic against an
htpasswd file, and with forward authentication to a small identity service in this
module (a stand-in for an OIDC proxy such as oauth2-proxy: it answers 200 with the
user's id in a header for a known bearer token, 401 otherwise). Every target is on
127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import requests

from cloudgeo.localcluster.cluster import ClusterAccess
from cloudgeo.samples import four_band_geotiff, point_shapefile_zip
from cloudgeo.storage.settings import S3Settings
from cloudgeo.wpsnode.jobs.keys import workers_key
from tests.support.cluster import start_cluster, upload
from tests.support.wps import download, ref

WITHHELD = ["qgis:advancedpythonfieldcalculator", "native:filedownloader", "native:loadlayer",
            "native:createdirectory", "native:spatialiteexecutesql", "gdal:executesql",
            "qgis:executesql"]
USERS = {"alice": "alice-pw", "bob": "bob-pw", "root-admin": "admin-pw"}
TOKENS = {"token-alice": "alice", "token-bob": "bob"}
FORWARD_HEADER = "X-Auth-Request-User"


@pytest.fixture(scope="module")
def open_cluster(state_root, catalog_path):
    local, state = start_cluster(state_root, catalog_path, "hostile-open", qgis_workers=1)
    yield state
    local.down()


@pytest.fixture(scope="module")
def basic_cluster(state_root, catalog_path):
    htpasswd = state_root / "htpasswd"
    htpasswd.write_text("".join(
        f"{user}:{{SHA}}{base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode()}\n"
        for user, pw in USERS.items()))
    # native:filedownloader included by name: published, its URL behind the href guard.
    access = ClusterAccess("basic", str(htpasswd), admins=("root-admin",),
                           node_settings=(("processes_include", "*,native:filedownloader"),),
                           file_settings=(("owner_only_retrieval", "true"),))
    local, state = start_cluster(state_root, catalog_path, "hostile-basic", qgis_workers=1,
                                 access=access)
    yield state
    local.down()


@pytest.fixture(scope="module")
def identity_service():
    """Test stand-in for an identity proxy's auth endpoint (oauth2-proxy's /oauth2/auth)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(dict(self.headers))
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            user = TOKENS.get(token)
            self.send_response(200 if user else 401)
            if user:
                self.send_header(FORWARD_HEADER, user)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/oauth2/auth", seen
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def forward_cluster(state_root, catalog_path, identity_service):
    access = ClusterAccess("forward", forward_auth_url=identity_service[0],
                           user_header=FORWARD_HEADER)
    local, state = start_cluster(state_root, catalog_path, "hostile-forward",
                                 qgis_workers=1, access=access)
    yield state
    local.down()


@pytest.fixture(scope="module")
def open_points(open_cluster, state_root) -> str:
    return upload(open_cluster.gateway_url, point_shapefile_zip(state_root / "hostile-data"))


def run_job(gateway: str, identifier: str, inputs: dict, **kwargs) -> requests.Response:
    return requests.post(f"{gateway}/api/wps/jobs", timeout=120,
                         json={"identifier": identifier, "inputs": inputs, **kwargs.pop(
                             "body", {})}, **kwargs)


def secrets_of(state) -> list[str]:
    """The credentials a caller must never see: S3 keys and the Redis URL."""
    s3 = S3Settings.from_env(next(c.env for c in state.components if c.name == "wps-node-1"))
    redis_url = f"redis://127.0.0.1:{state.ports.redis}"
    return [s3.secret_key, s3.access_key, redis_url]


def outputs_text(response: requests.Response) -> str:
    """The response and the content of every output it links to."""
    text = response.text
    data = response.json().get("data") or {}
    for value in (data.get("output") or {}).values():
        if isinstance(value, str) and value.startswith("http"):
            text += download(value).read_bytes().decode("latin-1")
    return text


# -- code execution and withheld algorithms -------------------------------------------

@pytest.mark.parametrize("identifier", WITHHELD)
def test_withheld_algorithm_runs_like_an_unknown_one(open_cluster, tmp_path, identifier):
    marker = tmp_path / "x"
    gateway = open_cluster.gateway_url
    hostile = {"INPUT": ref(f"{gateway}/api/file/retrieve/0.zip"), "FORMULA": "1",
               "GLOBAL": f"open('{marker}','w').write('x')", "URL": "file:///etc/passwd",
               "PATH": str(marker), "SQL": f"ATTACH '{marker}' AS x"}
    refused = run_job(gateway, identifier, hostile)
    unknown = run_job(gateway, "native:nosuchprocess", {})
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["msg"] == unknown.json()["msg"].replace("native:nosuchprocess",
                                                                  identifier)
    assert not marker.exists()


def test_python_code_refused_on_ogc_and_wps_too(open_cluster, tmp_path):
    marker = tmp_path / "x"
    gateway = open_cluster.gateway_url
    identifier = "qgis:advancedpythonfieldcalculator"
    code = f"open('{marker}','w').write('x')"
    ogc = requests.post(f"{gateway}/api/wps/ogcapi/processes/{identifier}/execution",
                        json={"inputs": {"GLOBAL": code}}, timeout=60)
    assert ogc.status_code == 404 and ogc.json()["type"].endswith("no-such-process")
    wps = requests.get(f"{gateway}/api/wps/wps", timeout=60, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute", "identifier": identifier,
        "DataInputs": f"GLOBAL={code}"})
    unknown = requests.get(f"{gateway}/api/wps/wps", timeout=60, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "native:nosuchprocess", "DataInputs": "A=1"})
    assert wps.status_code == unknown.status_code == 400
    assert wps.text.replace(identifier, "X") == unknown.text.replace("native:nosuchprocess",
                                                                     "X")
    assert not marker.exists()


def test_withheld_algorithms_are_listed_nowhere(open_cluster):
    gateway = open_cluster.gateway_url
    listed = {p["id"] for p in requests.get(f"{gateway}/api/wps/processes",
                                            timeout=60).json()["data"]["processes"]}
    ogc = {p["id"] for p in requests.get(f"{gateway}/api/wps/ogcapi/processes",
                                         timeout=60).json()["processes"]}
    capabilities = requests.get(f"{gateway}/api/wps/wps?service=WPS&request=GetCapabilities",
                                timeout=120).text
    assert "native:buffer" in listed and "native:buffer" in ogc
    assert "otb:BandMath" in listed and "<ows:Identifier>otb:BandMath<" in capabilities
    for identifier in WITHHELD:
        assert identifier not in listed and identifier not in ogc
        assert f">{identifier}<" not in capabilities
        described = requests.get(f"{gateway}/api/wps/wps?service=WPS&version=1.0.0&request="
                                 f"DescribeProcess&identifier={identifier}", timeout=60)
        assert described.status_code == 400 and "ExceptionReport" in described.text
        assert requests.get(f"{gateway}/api/wps/processes/{identifier}",
                            timeout=60).status_code == 404


# -- secrets through expressions ------------------------------------------------------

SECRET_EXPRESSIONS = [
    ("native:fieldcalculator", "FORMULA", "env('CLOUDGEO_S3_SECRET_KEY')", "env()"),
    ("native:fieldcalculator", "FORMULA", "env('CLOUDGEO_REDIS_URL')", "env()"),
    ("native:fieldcalculator", "FORMULA", "eval('en' || 'v(''HOME'')')", "eval()"),
    ("native:fieldcalculator", "FORMULA", "layer_property(@layer, 'source')",
     "layer_property()"),
    ("native:fieldcalculator", "FORMULA", "var(concat('user_', 'account_name'))",
     "named at run time"),
    ("native:fieldcalculator", "FORMULA", "@user_account_name", "@user_account_name"),
    ("native:extractbyexpression", "EXPRESSION", "env('HOME') IS NOT NULL", "env()"),
    ("native:geometrybyexpression", "EXPRESSION",
     "make_point(file_size('/etc/passwd'), 0)", "file_size()"),
    ("native:extractbyexpression", "EXPRESSION", "file_exists('/etc/passwd')",
     "file_exists()"),
    ("native:fieldcalculator", "FORMULA", "exif('/etc/passwd')", "exif()"),
]


@pytest.mark.parametrize(("identifier", "field", "expression", "named"), SECRET_EXPRESSIONS)
def test_expressions_read_nothing_of_the_node(open_cluster, open_points, identifier, field,
                                              expression, named):
    inputs = {"INPUT": ref(open_points), field: expression}
    if identifier == "native:fieldcalculator":
        inputs.update(FIELD_NAME="leak", FIELD_TYPE=2)
    response = run_job(open_cluster.gateway_url, identifier, inputs)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"]["field"] == field and named in body["msg"]
    assert body["data"]["output"] == {}
    for secret in secrets_of(open_cluster):
        assert secret not in response.text


def test_sqlite_writes_through_an_expression_are_refused(open_cluster, open_points, tmp_path):
    target = tmp_path / "made.sqlite"
    response = run_job(open_cluster.gateway_url, "native:fieldcalculator", {
        "INPUT": ref(open_points), "FIELD_NAME": "n", "FIELD_TYPE": 1,
        "FORMULA": f"sqlite_fetch_and_increment('{target}', 't', 'c', 'id', 1)"})
    assert response.status_code == 400 and "sqlite_fetch_and_increment" in response.json()["msg"]
    assert not target.exists()


def test_fields_mapping_expressions_are_checked(open_cluster, open_points):
    mapping = [{"name": "leak", "type": 10, "length": 0, "precision": 0,
                "expression": "env('CLOUDGEO_S3_SECRET_KEY')"}]
    response = run_job(open_cluster.gateway_url, "native:refactorfields",
                       {"INPUT": ref(open_points), "FIELDS_MAPPING": mapping})
    assert response.status_code == 400 and response.json()["data"]["field"] == "FIELDS_MAPPING"
    assert secrets_of(open_cluster)[0] not in response.text


def test_plain_expressions_still_run(open_cluster, open_points):
    response = run_job(open_cluster.gateway_url, "native:fieldcalculator", {
        "INPUT": ref(open_points), "FIELD_NAME": "twice", "FIELD_TYPE": 1,
        "FORMULA": '"id" * 2 + length(@layer_name) * 0'},
        body={"outputs": {"OUTPUT": {"format": "geojson"}}})
    assert response.status_code == 200, response.text
    text = outputs_text(response)
    assert '"twice": 18' in text.replace('"twice":18', '"twice": 18')


def test_qgis_workers_hold_no_credentials(open_cluster):
    """What env() would read if the check above were bypassed: each QGIS worker's and
    its pool's environment, as the kernel has it, holds no credential."""
    client = redis.Redis(port=open_cluster.ports.redis)
    prefix = f"{workers_key('wps-node-1')}:"
    pids = [int(k.decode()[len(prefix):]) for k in client.scan_iter(match=f"{prefix}*")]
    assert pids
    pool = {int(Path(f"/proc/{pid}/stat").read_text().split()[3]) for pid in pids}
    for pid in [*pids, *pool]:
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        for name in ("CLOUDGEO_S3_SECRET_KEY", "CLOUDGEO_S3_ACCESS_KEY", "CLOUDGEO_REDIS_URL"):
            assert f"{name}=" not in environ
        secret_key, _, redis_url = secrets_of(open_cluster)
        assert secret_key not in environ and redis_url not in environ
    folder = open_cluster.components[-1].env["CLOUDGEO_WPS_STATE_DIR"]
    assert not list(Path(folder, "handover").glob("*"))  # the hand-over file is gone


# -- local files, shells and command lines through string parameters -----------------

STRING_ATTACKS = [
    ("native:addfieldtoattributestable", {"FIELD_NAME": "file:///etc/passwd"}, "FIELD_NAME"),
    ("native:addfieldtoattributestable", {"FIELD_NAME": "/vsicurl/http://127.0.0.1:1/x"},
     "FIELD_NAME"),
    ("native:addfieldtoattributestable", {"FIELD_NAME": "/etc/passwd"}, "FIELD_NAME"),
    ("native:reprojectlayer", {"TARGET_CRS": "+init=/etc/passwd:x"}, "TARGET_CRS"),
    ("native:reprojectlayer", {"TARGET_CRS": "EPSG:3857",
                               "OPERATION": "+proj=hgridshift +grids=/etc/passwd"},
     "OPERATION"),
    ("gdal:contour", {"FIELD_NAME": "ELEV -fl 10"}, "FIELD_NAME"),
    ("gdal:translate", {"EXTRA": "-co TILED=YES"}, "EXTRA"),
]


@pytest.mark.parametrize(("identifier", "inputs", "field"), STRING_ATTACKS)
def test_strings_name_no_file_and_add_no_option(open_cluster, open_points, identifier,
                                                inputs, field):
    layer = {"INPUT": ref(open_points)}
    response = run_job(open_cluster.gateway_url, identifier, {**layer, **inputs})
    assert response.status_code == 400, response.text
    assert response.json()["data"]["field"] == field
    assert "root:" not in response.text


def test_shell_commands_in_otb_and_grass_parameters_are_refused(open_cluster, open_points,
                                                                 state_root, tmp_path):
    gateway = open_cluster.gateway_url
    bands = upload(gateway, four_band_geotiff(state_root / "hostile-bands"))
    marker = tmp_path / "shell"
    attacks = [
        ("otb:BandMath", {"il": [ref(bands)], "exp": f'im1b1"; touch {marker}; echo "'}, "exp"),
        ("otb:BandMath", {"il": [ref(bands)], "exp": f"im1b1 + $(touch {marker})"}, "exp"),
        ("grass7:v.buffer", {"input": ref(open_points), "distance": 1,
                             "where": f"cat > 0`touch {marker}`"}, "where"),
        ("grass7:v.buffer", {"input": ref(open_points), "distance": 1,
                             "column": f"id;touch {marker}"}, "column"),
    ]
    for identifier, inputs, field in attacks:
        response = run_job(gateway, identifier, inputs)
        assert response.status_code == 400, response.text
        assert response.json()["data"]["field"] == field
    # and the legitimate form of the same call works
    fine = run_job(gateway, "otb:BandMath", {"il": [ref(bands)], "exp": "im1b1 > 0 ? 1 : 0"})
    assert fine.status_code == 200, fine.text
    assert not marker.exists()


# -- SSRF ------------------------------------------------------------------------------

@pytest.mark.parametrize("href", ["file:///etc/passwd", "http://127.0.0.1:{node}/health",
                                  "http://169.254.169.254/latest/meta-data/",
                                  "http://user:pw@127.0.0.1:{gateway}/api/file/x"])
def test_input_links_to_internal_addresses_are_refused(open_cluster, href):
    href = href.format(node=open_cluster.ports.first_node, gateway=open_cluster.ports.gateway)
    response = run_job(open_cluster.gateway_url, "native:buffer",
                       {"INPUT": ref(href), "DISTANCE": 1})
    assert response.status_code == 400 and response.json()["data"]["field"] == "INPUT"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:{node}/health",
                                 "http://169.254.169.254/latest/meta-data/",
                                 "ftp://127.0.0.1:{gateway}/x"])
def test_included_filedownloader_passes_the_href_guard(basic_cluster, url):
    url = url.format(node=basic_cluster.ports.first_node, gateway=basic_cluster.ports.gateway)
    response = run_job(basic_cluster.gateway_url, "native:filedownloader", {"URL": url},
                       auth=("alice", USERS["alice"]))
    assert response.status_code == 400 and response.json()["data"]["field"] == "URL"
    assert "root:" not in response.text


def test_included_filedownloader_fetches_allowed_links(basic_cluster, state_root):
    gateway = basic_cluster.gateway_url
    source = state_root / "hostile-download.txt"
    source.write_text("fetched by the node's own guard\n")
    link = upload(gateway, source, auth=("alice", USERS["alice"]))
    response = run_job(gateway, "native:filedownloader", {"URL": link},
                       auth=("alice", USERS["alice"]))
    assert response.status_code == 200, response.text
    output = response.json()["data"]["output"]["OUTPUT"]
    got = requests.get(output, auth=("alice", USERS["alice"]), timeout=30)
    assert got.content == source.read_bytes()


# -- internal paths in messages --------------------------------------------------------

def test_failure_messages_name_inputs_not_paths(open_cluster, state_root):
    gateway = open_cluster.gateway_url
    fake = state_root / "not-a-raster.tif"
    fake.write_text("this is no GeoTIFF")
    link = upload(gateway, fake)
    state_dir = str(Path(open_cluster.components[-1].env["CLOUDGEO_WPS_STATE_DIR"]))
    json_api = run_job(gateway, "gdal:translate", {"INPUT": ref(link)})
    ogc = requests.post(f"{gateway}/api/wps/ogcapi/processes/gdal:translate/execution",
                        json={"inputs": {"INPUT": {"href": link}}}, timeout=120)
    wps = requests.get(f"{gateway}/api/wps/wps", timeout=120, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "gdal:translate", "DataInputs": f"INPUT=@xlink:href={link}"})
    assert json_api.status_code == 400 and json_api.json()["data"]["field"] == "INPUT"
    assert "INPUT" in json_api.json()["msg"]
    assert ogc.status_code == 400
    assert "ProcessFailed" in wps.text or "ExceptionReport" in wps.text
    for response in (json_api, ogc, wps):
        assert state_dir not in response.text and "/jobs/" not in response.text
        assert not re.search(r"/(work|tmp|root|home)/\S+/", response.text), response.text


# -- the job list without authentication -----------------------------------------------

def test_job_list_is_off_without_authentication(open_cluster, open_points):
    gateway = open_cluster.gateway_url
    run_job(gateway, "native:buffer", {"INPUT": ref(open_points), "DISTANCE": 1})
    listed = requests.get(f"{gateway}/api/wps/ogcapi/jobs", timeout=30)
    assert listed.status_code == 404 and "jobId" not in listed.text
    classes = requests.get(f"{gateway}/api/wps/ogcapi/conformance", timeout=30).json()
    assert not any(c.endswith("/job-list") for c in classes["conformsTo"])


def test_metrics_are_not_served_on_the_public_entry_point(open_cluster):
    gateway = open_cluster.gateway_url
    assert requests.get(f"{gateway}/api/wps/metrics", timeout=30).status_code == 404
    assert requests.get(f"{gateway}/api/file/metrics", timeout=30).status_code == 404
    node = f"http://127.0.0.1:{open_cluster.ports.first_node}"
    direct = requests.get(f"{node}/metrics", timeout=30)
    assert direct.status_code == 200 and "cloudgeo_wps" in direct.text
    assert requests.get(f"{gateway}/api/wps/health", timeout=30).status_code == 200


# -- basic authentication and job ownership --------------------------------------------

@pytest.fixture(scope="module")
def basic_points(basic_cluster, state_root) -> str:
    return upload(basic_cluster.gateway_url, point_shapefile_zip(state_root / "hostile-b"),
                  auth=("alice", USERS["alice"]))


def async_job(gateway: str, points: str, **kwargs) -> str:
    response = run_job(gateway, "native:buffer", {"INPUT": ref(points), "DISTANCE": 2},
                       body={"mode": "async"}, **kwargs)
    assert response.status_code == 200, response.text
    job_id = response.json()["data"]["JobId"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(f"{gateway}/api/wps/jobs/{job_id}", timeout=30, **kwargs)
        if status.json()["data"]["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    return job_id


def test_basic_auth_refuses_anonymous_and_wrong_passwords(basic_cluster, state_root):
    gateway = basic_cluster.gateway_url
    for auth in (None, ("alice", "wrong"), ("mallory", "x")):
        assert requests.get(f"{gateway}/api/wps/processes", auth=auth,
                            timeout=30).status_code == 401
        path = point_shapefile_zip(state_root / "hostile-anon")
        with open(path, "rb") as handle:
            assert requests.put(f"{gateway}/api/file/upload", files={"file": handle},
                                auth=auth, timeout=30).status_code == 401
    # a client naming itself in the identity header is not believed
    spoofed = requests.get(f"{gateway}/api/wps/processes", timeout=30,
                           headers={"X-CloudGeo-User": "alice"})
    assert spoofed.status_code == 401


def test_nodes_refuse_requests_that_bypass_the_gateway(basic_cluster):
    node = f"http://127.0.0.1:{basic_cluster.ports.first_node}"
    response = requests.get(f"{node}/processes", timeout=30)
    assert response.status_code == 401
    assert requests.get(f"{node}/health", timeout=30).status_code == 200


def test_another_callers_job_is_unknown_on_every_api(basic_cluster, basic_points):
    gateway = basic_cluster.gateway_url
    alice, bob = ("alice", USERS["alice"]), ("bob", USERS["bob"])
    job_id = async_job(gateway, basic_points, auth=alice)
    # bob, even naming himself alice in the identity header
    as_bob = {"auth": bob, "headers": {"X-CloudGeo-User": "alice"}, "timeout": 30}
    for path in (f"jobs/{job_id}", f"job/{job_id}", f"ogcapi/jobs/{job_id}",
                 f"ogcapi/jobs/{job_id}/results", f"wps/status/{job_id}",
                 f"ogcapi/jobs/{job_id}/log", f"jobs/{job_id}/log"):
        response = requests.get(f"{gateway}/api/wps/{path}", **as_bob)
        assert response.status_code == 404, (path, response.text)
        assert basic_points not in response.text
    for path in (f"jobs/{job_id}", f"ogcapi/jobs/{job_id}"):
        assert requests.delete(f"{gateway}/api/wps/{path}", **as_bob).status_code == 404
    mine = requests.get(f"{gateway}/api/wps/jobs/{job_id}", auth=alice, timeout=30)
    assert mine.status_code == 200 and mine.json()["data"]["status"] == "succeeded"
    log = requests.get(f"{gateway}/api/wps/ogcapi/jobs/{job_id}/log", auth=alice, timeout=30)
    assert log.status_code == 200 and log.headers["Content-Type"].startswith("text/plain")
    admin = requests.get(f"{gateway}/api/wps/ogcapi/jobs/{job_id}",
                         auth=("root-admin", USERS["root-admin"]), timeout=30)
    assert admin.status_code == 200


def test_job_list_shows_the_callers_own_jobs(basic_cluster, basic_points):
    gateway = basic_cluster.gateway_url
    alice, bob = ("alice", USERS["alice"]), ("bob", USERS["bob"])
    alices = async_job(gateway, basic_points, auth=alice)
    bobs = async_job(gateway, basic_points, auth=bob)

    def listed(auth) -> set[str]:
        response = requests.get(f"{gateway}/api/wps/ogcapi/jobs?limit=1000", auth=auth,
                                timeout=30)
        assert response.status_code == 200
        return {job["jobID"] for job in response.json()["jobs"]}

    assert alices in listed(alice) and bobs not in listed(alice)
    assert bobs in listed(bob) and alices not in listed(bob)
    assert {alices, bobs} <= listed(("root-admin", USERS["root-admin"]))
    classes = requests.get(f"{gateway}/api/wps/ogcapi/conformance", auth=alice,
                           timeout=30).json()["conformsTo"]
    assert any(c.endswith("/job-list") for c in classes)


# -- forward authentication -------------------------------------------------------------

def test_forward_auth_names_the_caller_from_the_identity_proxy(forward_cluster,
                                                               identity_service, state_root):
    gateway = forward_cluster.gateway_url
    alice = {"Authorization": "Bearer token-alice"}
    bob = {"Authorization": "Bearer token-bob"}
    assert requests.get(f"{gateway}/api/wps/processes", timeout=30).status_code == 401
    spoofed = requests.get(f"{gateway}/api/wps/processes", timeout=30,
                           headers={FORWARD_HEADER: "alice"})
    assert spoofed.status_code == 401
    assert not any(FORWARD_HEADER in seen for seen in identity_service[1])
    points = upload(gateway, point_shapefile_zip(state_root / "hostile-f"), headers=alice)
    job_id = async_job(gateway, points, headers=alice)
    theirs = requests.get(f"{gateway}/api/wps/jobs/{job_id}", timeout=30,
                          headers={**bob, FORWARD_HEADER: "alice"})
    assert theirs.status_code == 404
    mine = requests.get(f"{gateway}/api/wps/ogcapi/jobs", headers=alice, timeout=30)
    assert job_id in {job["jobID"] for job in mine.json()["jobs"]}
    others = requests.get(f"{gateway}/api/wps/ogcapi/jobs", headers=bob, timeout=30)
    assert job_id not in {job["jobID"] for job in others.json()["jobs"]}


# -- the same attacks through the OGC API and WPS 1.0.0 ---------------------------------

def test_expression_and_shell_attacks_through_ogc_and_wps(open_cluster, open_points,
                                                           tmp_path):
    gateway = open_cluster.gateway_url
    secret_key = secrets_of(open_cluster)[0]
    ogc = requests.post(f"{gateway}/api/wps/ogcapi/processes/native:fieldcalculator/execution",
                        timeout=120, json={"inputs": {
                            "INPUT": {"href": open_points}, "FIELD_NAME": "leak",
                            "FIELD_TYPE": 2, "FORMULA": "env('CLOUDGEO_S3_SECRET_KEY')"}})
    assert ogc.status_code == 400 and "env()" in ogc.json()["detail"]
    wps = requests.get(f"{gateway}/api/wps/wps", timeout=120, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "native:fieldcalculator",
        "DataInputs": f"INPUT=@xlink:href={open_points};FIELD_NAME=leak;FIELD_TYPE=2;"
                      "FORMULA=env('CLOUDGEO_S3_SECRET_KEY')"})
    assert "ProcessFailed" in wps.text and "env()" in wps.text, wps.text
    marker = tmp_path / "wps-shell"
    shell = requests.get(f"{gateway}/api/wps/wps", timeout=120, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "grass7:v.buffer",
        "DataInputs": f"input=@xlink:href={open_points};distance=1;"
                      f"where=cat > 0$(touch {marker})"})
    assert shell.status_code == 400 and 'locator="where"' in shell.text
    for response in (ogc, wps, shell):
        assert secret_key not in response.text
    assert not marker.exists()


# -- files belong to their owner ---------------------------------------------------------

def _file_calls(gateway: str, file_id: str, name: str, **as_caller) -> dict[str, int]:
    """The status of find, retrieve, an upload-force-name over the name, and delete."""
    calls = {"find": requests.get(f"{gateway}/api/file/find/{file_id}", timeout=30,
                                  **as_caller),
             "retrieve": requests.get(f"{gateway}/api/file/retrieve/{name}", timeout=30,
                                      **as_caller),
             "replace": requests.put(f"{gateway}/api/file/upload-force-name/{name}",
                                     files={"file": (name, b"replaced")}, timeout=30,
                                     **as_caller)}
    calls["delete"] = requests.delete(f"{gateway}/api/file/delete/{file_id}", timeout=30,
                                      **as_caller)
    return {call: response.status_code for call, response in calls.items()}


def test_another_users_file_is_unknown_with_basic_auth(basic_cluster, tmp_path):
    """Owner-only retrieval is on in this cluster: bob may not even download alice's."""
    gateway = basic_cluster.gateway_url
    alice, bob = ("alice", USERS["alice"]), ("bob", USERS["bob"])
    source = tmp_path / "alices.txt"
    source.write_text("alice's layer\n")
    link = upload(gateway, source, auth=alice)
    name = link.rsplit("/", 1)[1]
    file_id = name.split(".")[0]
    # bob, even naming himself alice in the identity header
    as_bob = {"auth": bob, "headers": {"X-CloudGeo-User": "alice"}}
    assert _file_calls(gateway, file_id, name, **as_bob) == {
        "find": 404, "retrieve": 404, "replace": 404, "delete": 404}
    got = requests.get(link, auth=alice, timeout=30)
    assert got.status_code == 200 and got.content == source.read_bytes()  # untouched
    admin = ("root-admin", USERS["root-admin"])
    assert requests.get(f"{gateway}/api/file/find/{file_id}", auth=admin,
                        timeout=30).status_code == 200
    # alice's job's output is alice's too; the node read her input all the same.
    response = run_job(gateway, "native:filedownloader", {"URL": link}, auth=alice)
    assert response.status_code == 200, response.text
    output = response.json()["data"]["output"]["OUTPUT"]
    assert requests.get(output, auth=alice, timeout=30).content == source.read_bytes()
    assert requests.get(output, auth=bob, timeout=30).status_code == 404
    assert _file_calls(gateway, file_id, name, auth=alice) == {
        "find": 200, "retrieve": 200, "replace": 200, "delete": 200}


def test_another_users_file_is_unknown_with_forward_auth(forward_cluster, tmp_path):
    """Retrieval stays a capability link here (the default): bob holding alice's link
    may download it, but neither find, replace nor delete it."""
    gateway = forward_cluster.gateway_url
    alice = {"Authorization": "Bearer token-alice"}
    bob = {"Authorization": "Bearer token-bob", FORWARD_HEADER: "alice"}
    source = tmp_path / "alices-forward.txt"
    source.write_text("alice's other layer\n")
    link = upload(gateway, source, headers=alice)
    name = link.rsplit("/", 1)[1]
    file_id = name.split(".")[0]
    assert _file_calls(gateway, file_id, name, headers=bob) == {
        "find": 404, "retrieve": 200, "replace": 404, "delete": 404}
    assert requests.get(link, headers=alice, timeout=30).content == source.read_bytes()
    assert requests.get(f"{gateway}/api/file/find/{file_id}", headers=alice,
                        timeout=30).status_code == 200
