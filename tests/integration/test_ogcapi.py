"""OGC API – Processes 1.0 on a node: status codes, headers and shapes; OWSLib's client."""

from __future__ import annotations

import email.parser
import time
from datetime import UTC, datetime, timedelta

import redis
import requests
from owslib.ogcapi.processes import Processes

from cloudgeo.wpsnode.jobs.store import INDEX
from tests.integration.test_wps_async import GRID
from tests.support.wps import PUBLISHED_BY_DEFAULT, download, vector_summary

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf"
EXC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"


def api(node) -> str:
    return f"{node.url}/ogcapi"


def test_landing_conformance_and_openapi(wps_node):
    landing = requests.get(f"{api(wps_node)}/", timeout=10).json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance",
            "http://www.opengis.net/def/rel/ogc/1.0/processes"} <= set(rels)
    conformance = requests.get(rels["conformance"], timeout=10).json()["conformsTo"]
    for name in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss"):
        assert f"{CONF}/{name}" in conformance
    openapi = requests.get(rels["service-desc"], timeout=10)
    assert openapi.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert "/processes/{processId}/execution" in openapi.json()["paths"]


def test_process_list_pages_and_descriptions(wps_node):
    page = requests.get(f"{api(wps_node)}/processes", params={"limit": 5}, timeout=10).json()
    # QGIS's published algorithms and the builtin echo (on the OGC API only).
    assert len(page["processes"]) == 5 and page["numberMatched"] == PUBLISHED_BY_DEFAULT + 1
    assert any(link["rel"] == "next" for link in page["links"])
    described = requests.get(f"{api(wps_node)}/processes/native:buffer", timeout=10).json()
    assert described["jobControlOptions"] == ["sync-execute", "async-execute", "dismiss"]
    assert described["inputs"]["INPUT"]["minOccurs"] == 1
    assert described["inputs"]["DISTANCE"]["schema"]["type"] == "number"
    assert "Square" in described["inputs"]["END_CAP_STYLE"]["schema"]["oneOf"][0]["enum"]
    for bad in ({"limit": "lots"}, {"limit": "0"}, {"offset": "-1"}):
        r = requests.get(f"{api(wps_node)}/processes", params=bad, timeout=10)
        assert r.status_code == 400 and next(iter(bad)) in r.json()["detail"], (bad, r.text)
    # Above the maximum: the maximum is served, and the links say so.
    whole = requests.get(f"{api(wps_node)}/processes", params={"limit": 10000},
                         timeout=10).json()
    assert len(whole["processes"]) == min(PUBLISHED_BY_DEFAULT + 1, 1000)
    (self_link,) = [link["href"] for link in whole["links"] if link["rel"] == "self"]
    assert "limit=1000" in self_link


def test_unknown_process_and_job_are_rfc7807(wps_node):
    r = requests.get(f"{api(wps_node)}/processes/native:nothing", timeout=10)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == f"{EXC}/no-such-process"
    r = requests.post(f"{api(wps_node)}/processes/native:nothing/execution", json={},
                      timeout=10)
    assert r.status_code == 404 and r.json()["type"] == f"{EXC}/no-such-process"
    r = requests.get(f"{api(wps_node)}/jobs/{'0' * 32}", timeout=10)
    assert r.status_code == 404 and r.json()["type"] == f"{EXC}/no-such-job"


def test_sync_execution_returns_results(wps_node, samples):
    r = requests.post(f"{api(wps_node)}/processes/native:buffer/execution", timeout=120,
                      json={"inputs": {"INPUT": {"href": samples["points"]},
                                       "DISTANCE": 10}})
    assert r.status_code == 200, r.text
    assert "/ogcapi/jobs/" in r.headers["Location"]
    assert r.links["monitor"]["url"] == r.headers["Location"]  # the job it made
    result = r.json()["OUTPUT"]
    assert result["type"] == "application/geopackage+sqlite3"
    assert vector_summary(download(result["href"]))[0] == 10


def test_sync_failure_and_bad_input(wps_node, samples):
    r = requests.post(f"{api(wps_node)}/processes/native:buffer/execution", timeout=60,
                      json={"inputs": {"INPUT": {"href": samples["points"]},
                                       "DISTANCE": "far"}})
    assert r.status_code == 400 and "DISTANCE" in r.json()["detail"]
    r = requests.post(f"{api(wps_node)}/processes/gdal:rastercalculator/execution",
                      timeout=60, json={"inputs": {"INPUT_A": {"href": samples["bands"]},
                                                   "BAND_A": 9, "FORMULA": "A"}})
    assert r.status_code == 500 and r.json()["type"].endswith("execution-failed")


def test_async_execution_job_list_results_and_dismiss(wps_node, samples):
    r = requests.post(f"{api(wps_node)}/processes/native:buffer/execution", timeout=60,
                      headers={"Prefer": "respond-async"},
                      json={"inputs": {"INPUT": {"href": samples["points"]}}})
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    assert r.json()["status"] in ("accepted", "running", "successful")
    deadline = time.monotonic() + 60
    while (info := requests.get(location, timeout=10).json())["status"] != "successful":
        assert time.monotonic() < deadline, info
        time.sleep(0.2)
    assert {"created", "started", "finished", "updated", "progress"} <= set(info)
    assert info["progress"] == 100
    results_link = next(link["href"] for link in info["links"] if link["rel"].endswith("results"))
    assert requests.get(results_link, timeout=10).json()["OUTPUT"]["href"].endswith(".gpkg")
    listed = requests.get(f"{api(wps_node)}/jobs", timeout=10,
                          params={"status": "successful", "processID": "native:buffer"})
    assert info["jobID"] in [job["jobID"] for job in listed.json()["jobs"]]
    assert all(job["status"] == "successful" for job in listed.json()["jobs"])
    # results-not-ready while a long job runs; then dismiss it
    r = requests.post(f"{api(wps_node)}/processes/native:creategrid/execution", timeout=60,
                      headers={"Prefer": "respond-async"}, json={"inputs": GRID})
    long_job = r.headers["Location"]
    r = requests.get(f"{long_job}/results", timeout=10)
    assert r.status_code == 404 and r.json()["type"] == f"{EXC}/result-not-ready"
    r = requests.delete(long_job, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    r = requests.get(f"{long_job}/results", timeout=10)  # no results, ever: not a failure
    assert r.status_code == 404 and r.json()["type"] == f"{EXC}/no-such-job", r.text
    r = requests.get(f"{api(wps_node)}/jobs", params={"status": "nope"}, timeout=10)
    assert r.status_code == 400


def test_owslib_ogc_api_processes_client(wps_node, samples):
    client = Processes(f"{api(wps_node)}/")
    assert any(p["id"] == "native:buffer" for p in client.processes())
    assert client.process("native:buffer")["id"] == "native:buffer"
    result = client.execute("native:buffer", {"INPUT": {"href": samples["points"]},
                                              "DISTANCE": 5})
    assert result["OUTPUT"]["href"].endswith(".gpkg")


RESULTS_REL = "http://www.opengis.net/def/rel/ogc/1.0/results"
GEOJSON_BY_VALUE = {"format": {"mediaType": "application/geo+json"},
                    "transmissionMode": "value"}


def execute(node, process: str, body: dict, **headers: str) -> requests.Response:
    return requests.post(f"{api(node)}/processes/{process}/execution", json=body,
                         headers=headers, timeout=120)


def test_outputs_by_value_and_by_reference_in_document_and_raw(wps_node, samples):
    inputs = {"INPUT": {"href": samples["points"]}, "DISTANCE": 10}
    r = execute(wps_node, "native:buffer", {"inputs": inputs,
                                            "outputs": {"OUTPUT": GEOJSON_BY_VALUE}})
    assert r.status_code == 200, r.text
    inline = r.json()["OUTPUT"]
    assert inline["mediaType"] == "application/geo+json"
    assert len(inline["value"]["features"]) == 10
    # Raw, one output by value: the body is the file, with its media type.
    r = execute(wps_node, "native:buffer", {"inputs": inputs, "response": "raw",
                                            "outputs": {"OUTPUT": GEOJSON_BY_VALUE}},
                Prefer="wait")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/geo+json"
    assert len(r.json()["features"]) == 10 and r.headers["Preference-Applied"] == "wait"
    # Raw, by reference (a file's default): no body, a Link header to the file.
    r = execute(wps_node, "native:buffer", {"inputs": inputs, "response": "raw"})
    assert r.status_code == 204 and not r.content, r.text
    assert vector_summary(download(r.links[RESULTS_REL]["url"]))[0] == 10
    assert r.links["monitor"]["url"] == r.headers["Location"]


def multipart(response: requests.Response) -> dict[str, email.message.Message]:
    header = f"Content-Type: {response.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(header + response.content)
    assert message.is_multipart()
    return {part["Content-ID"]: part for part in message.get_payload()}


def test_output_selection_and_several_raw_outputs_as_multipart(wps_node, samples):
    inputs = {"INPUT_LAYER": {"href": samples["points"]}, "FIELD_NAME": "id"}
    r = execute(wps_node, "qgis:basicstatisticsforfields",
                {"inputs": inputs, "outputs": {"COUNT": {}, "MEAN": {}}})
    assert r.status_code == 200 and r.json() == {"COUNT": 10, "MEAN": 4.5}, r.text
    r = execute(wps_node, "qgis:basicstatisticsforfields", {
        "inputs": inputs, "response": "raw",
        "outputs": {"COUNT": {}, "OUTPUT_HTML_FILE": {"transmissionMode": "value"}}})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("multipart/related")
    parts = multipart(r)
    assert set(parts) == {"<COUNT>", "<OUTPUT_HTML_FILE>"}
    assert float(parts["<COUNT>"].get_payload()) == 10
    assert parts["<OUTPUT_HTML_FILE>"].get_content_type() == "text/html"
    assert "4.5" in parts["<OUTPUT_HTML_FILE>"].get_payload(decode=True).decode()


def test_async_results_answer_as_the_execute_request_asked(wps_node, samples):
    r = execute(wps_node, "native:buffer", {
        "inputs": {"INPUT": {"href": samples["points"]}}, "response": "raw",
        "outputs": {"OUTPUT": GEOJSON_BY_VALUE}}, Prefer="respond-async")
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    deadline = time.monotonic() + 60
    while requests.get(location, timeout=10).json()["status"] != "successful":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    r = requests.get(f"{location}/results", timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/geo+json"
    assert len(r.json()["features"]) == 10


def test_a_bad_delivery_request_is_refused_and_queues_nothing(wps_node, samples,
                                                              redis_server):
    jobs = redis.Redis.from_url(redis_server.url)
    before = jobs.zcard(INDEX)
    inputs = {"INPUT": {"href": samples["points"]}}
    for body, field in (({"response": "xml"}, "response"),
                        ({"outputs": {"NOPE": {}}}, "outputs.NOPE"),
                        ({"outputs": {"OUTPUT": {"transmissionMode": "inline"}}},
                         "outputs.OUTPUT.transmissionMode"),
                        ({"outputs": [{"id": "OUTPUT"}]}, "outputs")):
        r = execute(wps_node, "native:buffer", {"inputs": inputs, **body})
        assert r.status_code == 400, (body, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
        assert field in r.json()["detail"], (field, r.json())
    assert jobs.zcard(INDEX) == before


def test_job_list_filters_pages_and_bad_parameters(wps_node, samples):
    r = execute(wps_node, "native:buffer", {"inputs": {"INPUT": {"href": samples["points"]}}})
    assert r.status_code == 200, r.text
    job = r.headers["Location"].rsplit("/", 1)[-1]
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    def listed(**params) -> list[str]:
        r = requests.get(f"{api(wps_node)}/jobs", params=params, timeout=10)
        assert r.status_code == 200, r.text
        return [j["jobID"] for j in r.json()["jobs"]]

    assert job in listed(processID="native:buffer", type="process", minDuration=0,
                         datetime=f"{hour_ago}/..", status="successful,failed")
    assert job not in listed(processID="native:buffer", type="openeo")
    assert job not in listed(datetime=f"../{hour_ago}")
    assert job not in listed(processID="native:buffer", minDuration=3600)
    assert job not in listed(processID="native:centroids")
    for params, field in (({"datetime": "yesterday"}, "datetime"),
                          ({"minDuration": "-1"}, "minDuration"),
                          ({"minDuration": 5, "maxDuration": 1}, "minDuration"),
                          ({"status": "done"}, "status"), ({"offset": "x"}, "offset")):
        r = requests.get(f"{api(wps_node)}/jobs", params=params, timeout=10)
        assert r.status_code == 400 and field in r.json()["detail"], (params, r.text)
    page = requests.get(f"{api(wps_node)}/jobs", params={"limit": 1}, timeout=10).json()
    (following,) = [link["href"] for link in page["links"] if link["rel"] == "next"]
    assert "offset=1" in following and "limit=1" in following
    second = requests.get(following, timeout=10).json()["jobs"]
    assert second and second[0]["jobID"] != page["jobs"][0]["jobID"]
