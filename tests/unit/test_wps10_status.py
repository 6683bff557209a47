"""WPS 1.0.0 status documents rendered from job records, read back by OWSLib's parser."""

from __future__ import annotations

import pytest
from owslib.wps import WPSExecution

from cloudgeo.wpsnode.api.wps10_status import status_document
from cloudgeo.wpsnode.jobs.record import JobRecord

PROCESS = {
    "id": "native:buffer", "title": "Buffer", "description": "Buffers <features> & more",
    "provider": "native", "inputs": [],
    "outputs": [{"name": "OUTPUT", "title": "Buffered", "dataType": "vectorOutput", "type":
                 "outputVector"},
                {"name": "AREA", "title": "", "dataType": "number", "type": "outputNumber"}],
}
STATUS_URL = "http://gw/api/wps/wps/status/j1"


def record(status: str, **fields) -> JobRecord:
    return JobRecord(jobId="j1", identifier="native:buffer", mode="async", status=status,
                     created=1_700_000_000.0, plan={}, **fields)


def parsed(job: JobRecord) -> WPSExecution:
    execution = WPSExecution()
    document = status_document(PROCESS, job, STATUS_URL, "http://gw/api/wps/wps")
    execution.checkStatus(response=document.encode(), sleepSecs=0)
    return execution


@pytest.mark.parametrize("status, word, percent", [
    ("accepted", "ProcessAccepted", 0), ("running", "ProcessStarted", 42)])
def test_unfinished_jobs_report_progress(status, word, percent):
    execution = parsed(record(status, percentCompleted=percent, message="working"))
    assert execution.status == word
    assert execution.percentCompleted == percent
    assert execution.statusLocation == STATUS_URL
    assert not execution.isComplete()
    assert execution.process.identifier == "native:buffer"


def test_percent_stays_below_100_until_the_job_succeeded():
    assert parsed(record("running", percentCompleted=100)).percentCompleted == 99


def test_success_lists_file_outputs_as_references_and_numbers_as_literals():
    execution = parsed(record("succeeded", finished=1_700_000_010.0, message="done",
                              output={"OUTPUT": "http://gw/api/file/retrieve/a.gpkg",
                                      "AREA": 3.5}))
    assert execution.isSucceeded() and execution.percentCompleted == 100
    outputs = {o.identifier: o for o in execution.processOutputs}
    assert outputs["OUTPUT"].reference == "http://gw/api/file/retrieve/a.gpkg"
    assert outputs["OUTPUT"].mimeType == "application/geopackage+sqlite3"
    assert outputs["AREA"].data == ["3.5"] and outputs["AREA"].dataType == "float"


@pytest.mark.parametrize("status, words", [
    ("failed", "Could not load source layer"), ("dismissed", "dismissed: by request")])
def test_failures_and_dismissals_are_process_failed_with_the_message(status, words):
    message = words.split(": ", 1)[-1] if status == "dismissed" else words
    execution = parsed(record(status, message=message, finished=1_700_000_010.0))
    # OWSLib reports a ProcessFailed document's ExceptionReport as status "Exception".
    assert execution.isComplete() and not execution.isSucceeded()
    assert b"<wps:ProcessFailed>" in execution.response
    assert [e.text for e in execution.errors] == [words]
    assert execution.processOutputs == []


def test_the_service_instance_is_the_capabilities_url_escaped_once():
    from lxml import etree

    document = status_document(PROCESS, record("accepted"), STATUS_URL,
                               "http://gw/api/wps/wps")
    assert "&amp;amp;" not in document
    assert etree.fromstring(document.encode()).get("serviceInstance") == \
        "http://gw/api/wps/wps?request=GetCapabilities&service=WPS"
