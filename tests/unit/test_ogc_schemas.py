"""The OGC API's documents validate against OGC API – Processes 1.0's own schemas
(tests/data/ogcapi-processes-1.0, as OGC's test suite fetches them): every process
description the node publishes (each QGIS algorithm, described by QGIS once per test
session, and the builtin processes), the process list, landing page, conformance,
problems, status documents in each state and the job list."""

from __future__ import annotations

import pytest

from cloudgeo.wpsnode.api.ogc import shapes
from cloudgeo.wpsnode.builtin.echo import ECHO
from cloudgeo.wpsnode.jobs.record import JobRecord
from tests.support.node_app import node_app
from tests.support.ogc_schemas import errors, strict_json
from tests.support.wps import PUBLISHED_BY_DEFAULT

BASE = "http://gateway.test/api/wps/ogcapi"
CREATED = 1_790_000_000.0


@pytest.fixture(scope="module")
def node(catalog_path, tmp_path_factory):
    app = node_app(catalog_path, tmp_path_factory.mktemp("node"), job_list="public")
    return app.test_client()


def get(node, path: str, status: int = 200):
    answer = node.get(f"/ogcapi{path}", headers={"Accept": "application/json"})
    assert answer.status_code == status, (path, answer.text[:300])
    return strict_json(answer.text)


def test_every_published_process_description_validates(node):
    listing = get(node, "/processes?limit=1000")
    assert errors("processList.yaml", listing) == []
    ids = [summary["id"] for summary in listing["processes"]]
    assert len(ids) == PUBLISHED_BY_DEFAULT + 1 and ECHO.id in ids  # QGIS's, and echo
    invalid = {}
    for process_id in ids:
        found = errors("process.yaml", get(node, f"/processes/{process_id}"))
        if found:
            invalid[process_id] = found
    assert not invalid, f"{len(invalid)} invalid, e.g. {next(iter(invalid.items()))}"


def test_landing_page_conformance_and_problems_validate(node):
    assert errors("landingPage.yaml", get(node, "/")) == []
    assert errors("confClasses.yaml", get(node, "/conformance")) == []
    for path, status in (("/processes/native:nothing", 404), ("/processes?limit=x", 400),
                         ("/processes?offset=-1", 400)):
        assert errors("exception.yaml", get(node, path, status)) == []


def record(status: str, **fields) -> JobRecord:
    return JobRecord(jobId="a" * 32, identifier="native:buffer", mode="async",
                     status=status, created=CREATED, plan={}, message=status, **fields)


# A job as its status document shows it in each state (accepted: the 201 of an
# asynchronous execution, before any worker took it).
JOBS = {
    "accepted": record("accepted"),
    "running": record("running", started=CREATED + 1, percentCompleted=40),
    "successful": record("succeeded", started=CREATED + 1, finished=CREATED + 3,
                         percentCompleted=100, output={"OUTPUT": "http://x/a.gpkg"}),
    "failed": record("failed", started=CREATED + 1, finished=CREATED + 2,
                     failure="execution"),
    "dismissed": record("dismissed"),
}


@pytest.mark.parametrize("status", JOBS)
def test_status_documents_validate_in_every_state(status):
    document = shapes.status_info(JOBS[status], BASE)
    assert document["status"] == status
    assert errors("statusInfo.yaml", document) == []


def test_a_date_time_not_yet_known_is_left_out():
    accepted = shapes.status_info(JOBS["accepted"], BASE)
    assert accepted["created"].startswith("2026-") and accepted["updated"] == \
        accepted["created"]
    assert "started" not in accepted and "finished" not in accepted
    running = shapes.status_info(JOBS["running"], BASE)
    assert "started" in running and "finished" not in running


def test_the_job_list_validates():
    links = [shapes.link(f"{BASE}/jobs?limit=5", "self"),
             shapes.link(f"{BASE}/jobs?limit=5&offset=5", "next")]
    document = shapes.job_list(list(JOBS.values()), BASE, links)
    assert len(document["jobs"]) == len(JOBS)
    assert errors("jobList.yaml", document) == []
    assert errors("jobList.yaml", shapes.job_list([], BASE, links[:1])) == []


def test_the_schemas_refuse_what_the_test_suite_found():
    """The validator is not vacuous: the findings of OGC's test suite fail it."""
    echo = {"id": "echo", "version": "1.0.0", "inputs": {"doubleInput": {"schema": {
        "type": "number", "exclusiveMaximum": 10}}}}
    assert "exclusiveMaximum" in errors("process.yaml", echo)[0]
    echo["inputs"]["doubleInput"]["schema"] = {"type": "object", "properties": {
        "type": {"const": "FeatureCollection"}}}
    assert "const" in errors("process.yaml", echo)[0]
    status = {"jobID": "a", "status": "accepted", "type": "process", "started": None}
    assert errors("statusInfo.yaml", status) == ["started: None is not of type 'string'"]
    assert errors("statusInfo.yaml", {**status, "started": "yesterday"})
    assert errors("statusInfo.yaml", {**status, "started": "2026-01-01T00:00:00Z"}) == []
    assert errors("landingPage.yaml", {"links": [{"rel": "self"}]})  # a link needs href
    assert errors("confClasses.yaml", {"conformsTo": "core"})
