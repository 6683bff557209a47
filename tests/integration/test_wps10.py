"""WPS 1.0.0 through PyWPS at /wps, driven by OWSLib and by raw KVP/XML requests."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import requests
from lxml import etree
from owslib.wps import SYNC, ComplexDataInput, WebProcessingService

from tests.support.wps import PUBLISHED_BY_DEFAULT, download, vector_summary

NS = {"wps": "http://www.opengis.net/wps/1.0.0", "ows": "http://www.opengis.net/ows/1.1",
      "xlink": "http://www.w3.org/1999/xlink"}
SCHEMA = Path(__file__).parents[2] / "src/cloudgeo/wpsnode/catalog/process-description.schema.json"


def test_owslib_get_capabilities_lists_every_process(wps_node):
    catalogue = requests.get(f"{wps_node.url}/processes", timeout=30).json()["data"]
    wps = WebProcessingService(f"{wps_node.url}/wps", skip_caps=True, timeout=60)
    wps.getcapabilities()
    assert {p.identifier for p in wps.processes} == {p["id"] for p in catalogue["processes"]}


def test_owslib_describe_process(wps_node):
    wps = WebProcessingService(f"{wps_node.url}/wps", skip_caps=True, timeout=60)
    process = wps.describeprocess("native:buffer")
    inputs = {i.identifier: i for i in process.dataInputs}
    assert inputs["INPUT"].dataType == "ComplexData" and inputs["INPUT"].minOccurs == 1
    assert inputs["DISTANCE"].dataType == "float"
    assert inputs["SEGMENTS"].dataType == "integer"
    assert inputs["DISSOLVE"].dataType == "boolean"
    outputs = {o.identifier: o for o in process.processOutputs}
    assert "application/geopackage+sqlite3" in [f.mimeType for f in
                                                 outputs["OUTPUT"].supportedValues]


def test_owslib_sync_execute_by_reference(wps_node, samples):
    wps = WebProcessingService(f"{wps_node.url}/wps", skip_caps=True, timeout=120)
    execution = wps.execute(
        "native:buffer",
        [("INPUT", ComplexDataInput(samples["points"], mimeType="application/zip")),
         ("DISTANCE", "50")],
        output=[("OUTPUT", True)], mode=SYNC)
    assert execution.isSucceded(), [e.text for e in execution.errors]
    (output,) = execution.processOutputs
    assert output.reference.endswith(".gpkg")
    count, geometry, _ = vector_summary(download(output.reference))
    assert count == 10 and "Polygon" in geometry


def test_owslib_inline_geojson_and_output_format(wps_node):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"n": i},
         "geometry": {"type": "Point", "coordinates": [i * 10.0, 5.0]}} for i in range(3)]}
    wps = WebProcessingService(f"{wps_node.url}/wps", skip_caps=True, timeout=120)
    execution = wps.execute(
        "native:buffer",
        [("INPUT", ComplexDataInput(json.dumps(collection), mimeType="application/geo+json")),
         ("DISTANCE", "1")],
        output=[("OUTPUT", True, "application/geo+json")], mode=SYNC)
    assert execution.isSucceded(), [e.text for e in execution.errors]
    link = execution.processOutputs[0].reference
    assert link.endswith(".geojson")
    assert len(json.loads(requests.get(link, timeout=10).text)["features"]) == 3


def test_kvp_execute(wps_node, samples):
    r = requests.get(f"{wps_node.url}/wps", timeout=120, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "native:buffer",
        "DataInputs": f"INPUT=@xlink:href={samples['points']};DISTANCE=20",
        "ResponseDocument": "OUTPUT=@asReference=true"})
    assert r.status_code == 200, r.text
    document = etree.fromstring(r.content)
    assert document.find(".//wps:ProcessSucceeded", NS) is not None
    assert document.get("serviceInstance").endswith("/wps?request=GetCapabilities&service=WPS")
    reference = document.find(".//wps:Reference", NS)
    assert reference.get("href").endswith(".gpkg")


def test_raw_data_output_is_the_output_itself(wps_node, samples):
    """RawDataOutput: a file output's stored bytes (streamed from S3) with its media type,
    by KVP and XML; a literal output's value as text."""
    r = requests.get(f"{wps_node.url}/wps", timeout=120, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "native:buffer",
        "DataInputs": f"INPUT=@xlink:href={samples['points']};DISTANCE=20",
        "RawDataOutput": "OUTPUT@mimeType=application/geo+json"})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"] == "application/geo+json"
    assert len(r.json()["features"]) == 10
    body = (f"<wps:Execute service='WPS' version='1.0.0' xmlns:wps='{NS['wps']}' "
            f"xmlns:ows='{NS['ows']}' xmlns:xlink='{NS['xlink']}'>"
            "<ows:Identifier>qgis:basicstatisticsforfields</ows:Identifier><wps:DataInputs>"
            "<wps:Input><ows:Identifier>INPUT_LAYER</ows:Identifier>"
            f"<wps:Reference xlink:href='{samples['points']}'/></wps:Input>"
            "<wps:Input><ows:Identifier>FIELD_NAME</ows:Identifier><wps:Data>"
            "<wps:LiteralData>id</wps:LiteralData></wps:Data></wps:Input></wps:DataInputs>"
            "<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>MEAN</ows:Identifier>"
            "</wps:RawDataOutput></wps:ResponseForm></wps:Execute>")
    r = requests.post(f"{wps_node.url}/wps", data=body.encode(), timeout=120,
                      headers={"Content-Type": "text/xml"})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith("text/plain") and float(r.text) == 4.5


def test_bad_requests_get_exception_reports(wps_node, redis_server):
    r = requests.get(f"{wps_node.url}/wps", timeout=30, params={
        "service": "WPS", "version": "1.0.0", "request": "DescribeProcess",
        "identifier": "native:nosuchthing"})
    assert r.status_code == 400
    assert b"InvalidParameterValue" in r.content and b"native:nosuchthing" in r.content
    href = f"http://127.0.0.1:{redis_server.port}/x.zip"
    r = requests.get(f"{wps_node.url}/wps", timeout=30, params={
        "service": "WPS", "version": "1.0.0", "request": "Execute",
        "identifier": "native:buffer", "DataInputs": f"INPUT=@xlink:href={href}"})
    assert r.status_code == 400
    exception = etree.fromstring(r.content).find(".//ows:Exception", NS)
    assert exception.get("exceptionCode") == "InvalidParameterValue"
    assert exception.get("locator") == "INPUT"
    assert "allow-list" in r.text


def test_every_process_describes_in_json_and_xml(wps_node):
    """All ~767 descriptions render over HTTP, validate against one schema, and as WPS XML."""
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    ids = [p["id"] for p in requests.get(f"{wps_node.url}/processes",
                                         timeout=30).json()["data"]["processes"]]
    assert len(ids) == PUBLISHED_BY_DEFAULT
    with requests.Session() as session:
        for identifier in ids:
            r = session.get(f"{wps_node.url}/processes/{identifier}", timeout=30)
            assert r.status_code == 200, identifier
            errors = sorted(validator.iter_errors(r.json()["data"]), key=str)
            assert not errors, f"{identifier}: {errors[0].message}"
    body = ("<wps:DescribeProcess service='WPS' version='1.0.0' "
            "xmlns:wps='http://www.opengis.net/wps/1.0.0' "
            "xmlns:ows='http://www.opengis.net/ows/1.1'>"
            + "".join(f"<ows:Identifier>{i}</ows:Identifier>" for i in ids)
            + "</wps:DescribeProcess>")
    r = requests.post(f"{wps_node.url}/wps", data=body.encode(), timeout=120,
                      headers={"Content-Type": "text/xml"})
    assert r.status_code == 200, r.text[:500]
    described = etree.fromstring(r.content).findall(".//ProcessDescription")
    assert len(described) == len(ids)


def test_schema_rejects_a_broken_description():
    schema = json.loads(SCHEMA.read_text())
    broken = {"id": "native:buffer", "title": "Buffer", "provider": "native",
              "providerName": "QGIS", "group": "g", "description": "",
              "inputs": [{"name": "X", "title": "X", "type": "enum", "dataType": "enum",
                          "optional": False, "advanced": False, "default": 0}],
              "destinations": [], "outputs": []}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(broken))
    assert any("options" in e.message for e in errors)


def test_concurrent_executes_are_all_answered(wps_node, samples):
    """Many WPS Executes at once on one node (its gunicorn threads share one process):
    each one succeeds. PyWPS's request-log database once shared one SQLite connection
    between threads and lost some of them."""
    from concurrent.futures import ThreadPoolExecutor

    def execute(index: int) -> requests.Response:
        return requests.get(f"{wps_node.url}/wps", timeout=300, params={
            "service": "WPS", "version": "1.0.0", "request": "Execute",
            "identifier": "native:buffer",
            "DataInputs": f"INPUT=@xlink:href={samples['points']};DISTANCE={index + 1}"})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(execute, range(64)))
    failed = [(r.status_code, r.text[-300:]) for r in answers
              if r.status_code != 200 or b"ProcessSucceeded" not in r.content]
    assert not failed, f"{len(failed)} of 64 lost: {failed[:2]}"
