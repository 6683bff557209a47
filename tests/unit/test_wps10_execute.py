"""WPS 1.0.0 Execute through PyWPS in the test's process, on QGIS's own process
descriptions: RawDataOutput (the output itself is the response), and the
ExecuteResponse's serviceInstance. The job service and the object store are doubles:
a job has finished, with the outputs the test gives, when it is waited for."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from lxml import etree
from werkzeug.test import Client
from werkzeug.wrappers import Response

from cloudgeo.storage.objectstore import ObjectNotFound
from cloudgeo.wpsnode.api.wps10 import WpsAdapter, configure_pywps, service_class
from cloudgeo.wpsnode.api.wps10_outputs import requested_outputs
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.catalog.policy import PublicationPolicy
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.inputs.planning import plan_inputs
from cloudgeo.wpsnode.jobs.execute import AdmittedJob, ExecuteRequest
from cloudgeo.wpsnode.jobs.record import JobRecord

WPS_URL = "http://gateway.test/api/wps/wps"
FILES = "http://gateway.test/api/file/retrieve"
NS = {"wps": "http://www.opengis.net/wps/1.0.0", "ows": "http://www.opengis.net/ows/1.1"}
POINTS = f"{FILES}/{'1' * 32}.zip"
GEOJSON = b'{"type": "FeatureCollection", "features": []}'


class FinishedJobs:
    """A double of the job service: a submitted job has finished, as `finish` says
    (its outputs, or a failure message), once it is waited for."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.submitted: list[dict] = []
        self.output: dict = {}
        self.failure = ""

    def admit(self, request: ExecuteRequest, caller: Caller) -> AdmittedJob:
        """Planned as the service does (every link allowed: the href guard has tests of
        its own); room in the queue and for every caller, always."""
        plan = plan_inputs(self.catalog.get(request.identifier), request.inputs,
                           request.outputs)
        return AdmittedJob(request, plan, {})

    def enqueue(self, admitted: AdmittedJob, caller: Caller) -> JobRecord:
        request = admitted.request
        self.submitted.append({"identifier": request.identifier, "outputs": request.outputs,
                               "mode": request.mode})
        return JobRecord(jobId="f" * 32, identifier=request.identifier, mode=request.mode,
                         status="accepted", created=time.time(), plan=admitted.plan)

    def wait(self, record: JobRecord) -> JobRecord:
        if self.failure:
            return dataclasses.replace(record, status="failed", message=self.failure,
                                       failure="execution", finished=time.time())
        return dataclasses.replace(record, status="succeeded", output=self.output,
                                   message="done", percentCompleted=100,
                                   finished=time.time())


class StoredFiles:
    """A double of the object store: files by key, in memory, read in small chunks."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def open_range(self, key: str, offset: int = 0, length: int = 0) -> Iterator[bytes]:
        if key not in self.files:
            raise ObjectNotFound(key)
        data = self.files[key]
        return iter([data[i:i + 7] for i in range(0, len(data), 7)])


@pytest.fixture(scope="module")
def wps(catalog_path, tmp_path_factory):
    """(WSGI client, jobs, files): PyWPS serving native:buffer and
    qgis:basicstatisticsforfields as QGIS describes them."""
    policy = PublicationPolicy.from_globs(include=["native:buffer",
                                                   "qgis:basicstatisticsforfields"])
    jobs, files = FinishedJobs(Catalog.load(catalog_path, policy)), StoredFiles()
    configure_pywps(WPS_URL, tmp_path_factory.mktemp("pywps"))
    adapter = WpsAdapter(jobs, files, lambda name: f"{FILES}/{name}", f"{WPS_URL}/status")
    return Client(service_class()(adapter), Response), jobs, files


@pytest.fixture()
def done(wps):
    """The jobs double, reset: its next job succeeds with `.output`."""
    _, jobs, files = wps
    jobs.submitted.clear()
    jobs.output, jobs.failure = {}, ""
    files.files.clear()
    return jobs


def kvp(client: Client, identifier: str, inputs: str, **form: str):
    query = urlencode({"service": "WPS", "version": "1.0.0", "request": "Execute",
                       "identifier": identifier, "DataInputs": inputs, **form})
    return client.get(f"/?{query}")


def execute_xml(identifier: str, inputs: str, response_form: str) -> bytes:
    return (f'<wps:Execute service="WPS" version="1.0.0" xmlns:wps="{NS["wps"]}" '
            f'xmlns:ows="{NS["ows"]}" xmlns:xlink="http://www.w3.org/1999/xlink">'
            f"<ows:Identifier>{identifier}</ows:Identifier><wps:DataInputs>{inputs}"
            f"</wps:DataInputs><wps:ResponseForm>{response_form}</wps:ResponseForm>"
            "</wps:Execute>").encode()


BUFFER_INPUTS = f"INPUT=@xlink:href={POINTS};DISTANCE=2"
BUFFER_XML_INPUTS = (f'<wps:Input><ows:Identifier>INPUT</ows:Identifier><wps:Reference '
                     f'xlink:href="{POINTS}" mimeType="application/zip"/></wps:Input>'
                     "<wps:Input><ows:Identifier>DISTANCE</ows:Identifier><wps:Data>"
                     "<wps:LiteralData>2</wps:LiteralData></wps:Data></wps:Input>")


def test_raw_data_output_by_kvp_is_the_stored_file_itself(wps, done):
    client, _, files = wps
    files.files["a" * 32] = GEOJSON
    done.output = {"OUTPUT": f"{FILES}/{'a' * 32}.geojson"}
    answer = kvp(client, "native:buffer", BUFFER_INPUTS,
                 RawDataOutput="OUTPUT@mimeType=application/geo+json")
    assert answer.status_code == 200, answer.text
    assert answer.mimetype == "application/geo+json"
    assert answer.data == GEOJSON
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{"a" * 32}.geojson"'
    # The format asked for is the one the job makes; without one, its first format.
    assert done.submitted[-1]["outputs"] == {"OUTPUT": {"format": "geojson"}}
    files.files["b" * 32] = b"GPKG bytes"
    done.output = {"OUTPUT": f"{FILES}/{'b' * 32}.gpkg"}
    answer = kvp(client, "native:buffer", BUFFER_INPUTS, RawDataOutput="OUTPUT")
    assert answer.status_code == 200 and answer.data == b"GPKG bytes"
    assert answer.mimetype == "application/geopackage+sqlite3"
    assert done.submitted[-1]["outputs"] == {"OUTPUT": {}}


def test_raw_data_output_by_xml(wps, done):
    client, _, files = wps
    files.files["c" * 32] = GEOJSON
    done.output = {"OUTPUT": f"{FILES}/{'c' * 32}.geojson"}
    body = execute_xml("native:buffer", BUFFER_XML_INPUTS,
                       '<wps:RawDataOutput mimeType="application/geo+json">'
                       "<ows:Identifier>OUTPUT</ows:Identifier></wps:RawDataOutput>")
    answer = client.post("/", data=body, content_type="text/xml")
    assert answer.status_code == 200, answer.text
    assert answer.mimetype == "application/geo+json" and answer.data == GEOJSON
    assert done.submitted[-1]["outputs"] == {"OUTPUT": {"format": "geojson"}}


def test_a_raw_literal_output_is_its_value_as_text(wps, done):
    client, _, _ = wps
    done.output = {"COUNT": 10, "MEAN": 4.5, "OUTPUT_HTML_FILE": f"{FILES}/{'d' * 32}.html"}
    answer = kvp(client, "qgis:basicstatisticsforfields",
                 f"INPUT_LAYER=@xlink:href={POINTS};FIELD_NAME=id", RawDataOutput="MEAN")
    assert answer.status_code == 200, answer.text
    assert answer.mimetype == "text/plain" and answer.text == "4.5"


@pytest.mark.parametrize(("raw", "locator"), [
    ("NOPE", "RawDataOutput"),
    ("OUTPUT;OUTPUT_OTHER", "RawDataOutput"),
    ("OUTPUT@mimeType=image/png", "mimeType"),
])
def test_a_raw_data_output_the_process_cannot_give_is_refused_before_it_runs(wps, done, raw,
                                                                            locator):
    client, _, _ = wps
    answer = kvp(client, "native:buffer", BUFFER_INPUTS, RawDataOutput=raw)
    assert answer.status_code == 400, answer.text
    exception = etree.fromstring(answer.data).find(".//ows:Exception", NS)
    assert exception.get("exceptionCode") == "InvalidParameterValue"
    assert exception.get("locator") == locator
    assert done.submitted == []


def test_a_failed_or_expired_raw_output_is_an_exception_report(wps, done):
    client, _, _ = wps
    done.output = {"OUTPUT": f"{FILES}/{'e' * 32}.gpkg"}  # not in the store
    answer = kvp(client, "native:buffer", BUFFER_INPUTS, RawDataOutput="OUTPUT")
    assert answer.status_code == 404 and b"has expired" in answer.data
    done.failure = "native:buffer failed: no features"
    answer = kvp(client, "native:buffer", BUFFER_INPUTS, RawDataOutput="OUTPUT")
    assert b"ExceptionReport" in answer.data and b"no features" in answer.data


def test_requested_outputs_read_every_form_pywps_parses():
    assert requested_outputs({"OUTPUT@mimeType=application/geo+json": {
        "identifier": "OUTPUT@mimeType=application/geo+json", "data": ""}}) == {
        "OUTPUT": "application/geo+json"}  # KVP RawDataOutput
    assert requested_outputs({"OUTPUT": {"identifier": "OUTPUT", "asReference": "true",
                                         "mimeType": "text/csv"}}) == {"OUTPUT": "text/csv"}
    assert requested_outputs({"OUTPUT": {"OUTPUT": "", "mimetype": None}}) == {
        "OUTPUT": None}  # XML, no mimeType
    assert requested_outputs(None) == {}


def test_the_service_instance_is_the_capabilities_url_escaped_once(wps, done):
    """PyWPS escaped it, and its template again (`&amp;amp;` in the XML)."""
    client, _, _ = wps
    done.output = {"OUTPUT": f"{FILES}/{'f' * 32}.gpkg"}
    answer = kvp(client, "native:buffer", BUFFER_INPUTS,
                 ResponseDocument="OUTPUT=@asReference=true")
    assert answer.status_code == 200, answer.text
    document = etree.fromstring(answer.data)
    assert document.find(".//wps:ProcessSucceeded", NS) is not None
    assert document.get("serviceInstance") == f"{WPS_URL}?request=GetCapabilities&service=WPS"
    assert b"&amp;amp;" not in answer.data
