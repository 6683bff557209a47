"""The job API around JobService: execute requests parsed into ExecuteRequest (each bad
field named), and each adapter's answer to the service's refusals (the CloudGeo JSON
API's envelope, OGC API problems, WPS 1.0.0 ExceptionReports). The node's real app in
the test's process, its job service on in-memory fakes (tests/support/job_fakes.py)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from cloudgeo.wpsnode.api.ogc.context import KEY
from cloudgeo.wpsnode.api.ogc.execution import execute_request
from cloudgeo.wpsnode.api.wps10 import WpsAdapter, wps_exception
from cloudgeo.wpsnode.caller import ANONYMOUS, CURRENT
from cloudgeo.wpsnode.jobs import service as service_module
from cloudgeo.wpsnode.jobs.errors import CallerAtCap, JobNotFound, QueueFull, RequestRefused
from cloudgeo.wpsnode.jobs.execute import ExecuteRequest, parse_execute
from cloudgeo.wpsnode.jobs.service import JobService
from tests.support.job_fakes import LAYER, PROCESS, Ports, service
from tests.support.node_app import empty_catalog, node_app

FULL = "the job queue is full (3 jobs waiting, limit 3); try again later"
BUFFER = {"identifier": PROCESS["id"], "inputs": {"INPUT": LAYER}}


@pytest.mark.parametrize(("body", "field", "message"), [
    (None, "body", "the body must be a JSON object with 'identifier' and 'inputs'"),
    ([BUFFER], "body", "the body must be a JSON object with 'identifier' and 'inputs'"),
    ({"inputs": {}}, "identifier",
     "'identifier' is required: the id of a process, e.g. 'native:buffer'"),
    ({"identifier": 7}, "identifier",
     "'identifier' is required: the id of a process, e.g. 'native:buffer'"),
    ({**BUFFER, "mode": "later"}, "mode", "'mode' must be 'sync' or 'async', not 'later'"),
    ({**BUFFER, "inputs": None}, "inputs",
     "'inputs' must be an object of input names to values"),
    ({**BUFFER, "outputs": ["OUTPUT"]}, "outputs",
     """'outputs' must be an object of output names to {"format": ...}"""),
])
def test_a_bad_json_execute_request_is_refused_naming_its_field(body, field, message):
    with pytest.raises(RequestRefused) as refused:
        parse_execute(body)
    assert (refused.value.field, refused.value.message) == (field, message)


def test_a_json_execute_request_parses_into_an_execute_request():
    body = {**BUFFER, "mode": "async", "outputs": {"OUTPUT": {"format": "gpkg"}},
            "subscriber": {"successUri": "http://hooks.example.org/a"}}
    assert parse_execute(body) == ExecuteRequest(
        PROCESS["id"], {"INPUT": LAYER}, {"OUTPUT": {"format": "gpkg"}}, "async",
        {"successUri": "http://hooks.example.org/a"})
    assert parse_execute(BUFFER).mode == "sync"


def test_an_ogc_execute_request_parses_into_an_execute_request_or_names_its_field():
    for body, field in ((None, "body"), ({"inputs": [LAYER]}, "inputs")):
        with pytest.raises(RequestRefused) as refused:
            execute_request(PROCESS["id"], PROCESS, body, "")
        assert refused.value.field == field
    parsed = execute_request(PROCESS["id"], PROCESS, {"inputs": {"INPUT": {"href": LAYER}}},
                             "respond-async, wait=10")
    assert (parsed.identifier, parsed.mode) == (PROCESS["id"], "async")
    assert parsed.inputs == {"INPUT": {"type": "reference", "href": LAYER}}


@pytest.fixture
def node(tmp_path):
    """The node's app, its job service on fakes: `node.ports`, `node.client`."""
    app = node_app(empty_catalog(tmp_path), tmp_path, user_header="X-User")

    def serve(ports: Ports) -> SimpleNamespace:
        jobs = service(ports, user_header="X-User")
        app.extensions["cloudgeo.jobs"] = jobs
        app.extensions[KEY] = dataclasses.replace(app.extensions[KEY], service=jobs)
        return SimpleNamespace(ports=ports, client=app.test_client())

    return serve


ALICE, BOB = {"X-User": "alice"}, {"X-User": "bob"}


def test_the_json_api_answers_refusals_in_the_seed_envelope(node):
    full = node(Ports(waiting=3))
    refused = full.client.post("/jobs", json=BUFFER, headers=ALICE)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "10"
    assert refused.json == {"success": False, "msg": FULL, "data": None}
    bad = full.client.post("/jobs", json={**BUFFER, "mode": "later"}, headers=ALICE)
    assert bad.status_code == 400 and bad.json["data"] == {"field": "mode"}

    capped = node(Ports(cap=0)).client.post("/jobs", json=BUFFER, headers=ALICE)
    assert capped.status_code == 429 and capped.headers["Retry-After"] == "10"
    assert capped.json["msg"].startswith("you have 100 jobs queued or running")


def test_the_json_api_answers_404_for_another_callers_job_and_changes_nothing(node):
    served = node(Ports())
    queued = served.client.post("/jobs", json={**BUFFER, "mode": "async"}, headers=ALICE)
    job_id = queued.json["data"]["JobId"]
    for method in ("get", "delete"):
        answer = getattr(served.client, method)(f"/jobs/{job_id}", headers=BOB)
        assert answer.status_code == 404
        assert answer.json == {"success": False, "data": {"field": "jobId"},
                               "msg": f"no job '{job_id}' (unknown, or its results expired)"}
    assert served.client.get(f"/jobs/{job_id}/log", headers=BOB).status_code == 404
    assert served.ports.jobs.get(job_id).status == "accepted"
    dismissed = served.client.delete(f"/jobs/{job_id}", headers=ALICE)
    assert dismissed.status_code == 200 and dismissed.json["msg"] == "dismissed"
    assert dismissed.json["data"]["status"] == "dismissed"


def test_the_ogc_api_answers_refusals_as_problems(node):
    execution = f"/ogcapi/processes/{PROCESS['id']}/execution"
    body = {"inputs": {"INPUT": {"href": LAYER}}}
    refused = node(Ports(waiting=3)).client.post(execution, json=body, headers=ALICE)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "10"
    assert refused.mimetype == "application/problem+json"
    assert refused.json["detail"] == FULL and refused.json["title"] == "Request refused"
    assert refused.json["type"].endswith("/invalid-parameter")
    capped = node(Ports(cap=0)).client.post(execution, json=body, headers=ALICE)
    assert capped.status_code == 429 and capped.headers["Retry-After"] == "10"

    served = node(Ports())
    accepted = served.client.post(execution, json=body,
                                  headers={**ALICE, "Prefer": "respond-async"})
    assert accepted.status_code == 201
    job = f"/ogcapi/jobs/{accepted.json['jobID']}"
    for method in ("get", "delete"):
        unknown = getattr(served.client, method)(job, headers=BOB)
        assert unknown.status_code == 404 and unknown.json["type"].endswith("/no-such-job")
    assert served.client.get(f"{job}/results", headers=BOB).status_code == 404
    assert served.client.delete(job, headers=ALICE).json["status"] == "dismissed"


@pytest.mark.parametrize(("error", "status", "code"), [
    (QueueFull(3, 3), 503, b"ServerBusy"),
    (CallerAtCap(2), 429, b"NoApplicableCode"),
])
def test_wps_answers_a_refusal_to_take_work_with_its_status_and_retry_after(error, status,
                                                                           code):
    answer = wps_exception(error).get_response({})
    assert answer.status_code == status and answer.headers["Retry-After"] == "10"
    assert code in answer.get_data() and error.message.encode() in answer.get_data()


def test_wps_answers_an_unknown_job_with_a_404_exception_report(node):
    answer = node(Ports()).client.get("/wps/status/nope", headers=ALICE)
    assert answer.status_code == 404 and b'locator="jobId"' in answer.data
    assert b"no job &#39;nope&#39; (unknown, or its results expired)" in answer.data


class FakeStore:
    """Test double of the S3 ObjectStore: remembers what was stored (inline values)."""

    def __init__(self) -> None:
        self.stored: list[str] = []

    def put_file(self, key: str, path: str, content_type: str, metadata) -> None:
        self.stored.append(key)


def test_wps_plans_and_admits_once_and_queues_the_plan_with_stored_inline_values(
        monkeypatch):
    """The check before PyWPS takes an Execute admits the job; PyWPS's handler queues it
    without planning or admitting again, inline layers by their stored links."""
    ports = Ports()
    jobs = service(ports)
    planned, waiting = [], []
    plan_inputs = service_module.plan_inputs
    monkeypatch.setattr(service_module, "plan_inputs",
                        lambda *args: planned.append(args) or plan_inputs(*args))
    monkeypatch.setattr(ports.queue, "waiting",
                        lambda: waiting.append(1) or len(ports.queue.submitted))
    store = FakeStore()
    adapter = WpsAdapter(jobs, store, lambda name: f"http://127.0.0.1:9000/api/file/retrieve/"
                                                   f"{name}", "http://node/wps/status")
    request = SimpleNamespace(inputs={"INPUT": [{"data": "{}"}], "DISTANCE": [{"data": "2"}]},
                              outputs={"OUTPUT": {"mimeType": "application/geo+json"}})
    token = CURRENT.set(ANONYMOUS)  # PyWPS calls back without the caller: read from here
    try:
        adapter.admit(PROCESS, request)
        # PyWPS parses the request: its inputs become objects (an inline one, here).
        inline = SimpleNamespace(prop="data", data='{"type": "FeatureCollection"}',
                                 data_format=SimpleNamespace(mime_type="application/geo+json"))
        request.inputs = {"INPUT": [inline], "DISTANCE": [SimpleNamespace(data=2.0)]}
        record = adapter.enqueue(PROCESS, request, "async")
    finally:
        CURRENT.reset(token)

    assert len(planned) == 1 and len(waiting) == 1
    assert [r.jobId for r in ports.queue.submitted] == [record.jobId]
    (stored,) = store.stored
    href = f"http://127.0.0.1:9000/api/file/retrieve/{stored}.geojson"
    assert record.plan["references"]["INPUT"]["items"] == [{"href": href}]
    assert record.inputs == {"INPUT": {"type": "reference", "href": href}, "DISTANCE": 2.0}
    assert record.plan["literals"] == {"DISTANCE": 2.0}
    assert record.plan["destinations"] == {"OUTPUT": "geojson"}
    assert record.mode == "async" and ports.quota.places == {"address:": [record.jobId]}


def test_the_service_admits_without_queueing_and_refuses_a_caller_at_the_cap():
    ports = Ports(cap=0)
    jobs: JobService = service(ports, max_jobs_per_caller="1")
    ports.quota.places["address:"] = ["earlier"]
    with pytest.raises(CallerAtCap):
        jobs.admit(ExecuteRequest(PROCESS["id"], {"INPUT": LAYER}), ANONYMOUS)
    assert ports.jobs.records == {} and ports.queue.submitted == []


def test_a_job_not_found_names_the_job():
    error = JobNotFound("j1")
    assert (error.field, error.message) == ("jobId", "no job 'j1' (unknown, or its results "
                                                     "expired)")
