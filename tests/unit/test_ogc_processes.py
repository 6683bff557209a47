"""The OGC API's process resources without Flask (api/ogc/processes.py): the process
list's pages and their links, descriptions, the conformance classes, and Part 2's
deploy, replace and undeploy: administrators only, checked before the body is read;
a body too large refused before (or while) it is read. No Redis, no QGIS: the
catalogue and the model store are test doubles."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.job_errors import http_status
from cloudgeo.wpsnode.api.ogc import deploy
from cloudgeo.wpsnode.api.ogc.context import OgcApi
from cloudgeo.wpsnode.api.ogc.deploy import EXCEPTIONS
from cloudgeo.wpsnode.api.ogc.processes import (
    ModelUpload,
    conformance_classes,
    deploy_process,
    description,
    model_body,
    process_list,
    replace_process,
    undeploy_process,
)
from cloudgeo.wpsnode.api.ogc.web import INVALID_PARAMETER
from cloudgeo.wpsnode.builtin import enabled
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.catalog.store import UnknownProcess
from cloudgeo.wpsnode.jobs.errors import (
    AuthenticationRequired,
    DeploymentRefused,
    DeploymentTooLarge,
    JobError,
    NoDeployedProcess,
    NotAnAdministrator,
    ProcessDeployedAlready,
    ProcessImmutable,
)
from tests.support.job_fakes import PROCESS

BASE = "http://node.test/ogcapi"
NAMES = ("buffer", "clip", "dissolve", "centroids", "buffer rings")
LISTED = [dict(PROCESS, id=f"test:{n.replace(' ', '_')}", title=n.title(), provider="test",
               description=f"{n} features") for n in NAMES]
ADMIN, USER = Caller("root", admin=True), Caller("ann")
MODEL = "<!DOCTYPE model>\n<Option type=\"Map\"/>"


class FakeCatalog:
    """Test double of the node's live catalogue: a dict of process descriptions."""

    def __init__(self, processes: list[dict]) -> None:
        self.processes = {p["id"]: p for p in processes}

    def get(self, process_id: str) -> dict:
        if process_id not in self.processes:
            raise UnknownProcess(process_id)
        return self.processes[process_id]


class FakeDeployments:
    """Test double of ModelDeployments: records each call; a deployed model joins the
    catalogue as `model:<name>`."""

    def __init__(self, catalog: FakeCatalog) -> None:
        self.catalog, self.calls = catalog, []

    def deploy(self, name, content, user) -> str:
        self.calls.append(("deploy", name, content, user))
        identifier = f"model:{name}"
        self.catalog.processes[identifier] = dict(LISTED[0], id=identifier)
        return identifier

    def replace(self, process_id, name, content, user) -> None:
        self.calls.append(("replace", process_id, name, content, user))

    def undeploy(self, process_id) -> None:
        self.calls.append(("undeploy", process_id))


def ogc_api(job_list: bool = False, offered: bool = False) -> OgcApi:
    catalog = FakeCatalog(LISTED)
    settings = SimpleNamespace(callbacks_offered=False, max_model_size=1024)
    service = SimpleNamespace(catalog=catalog, settings=settings,
                              job_list_open=lambda: job_list)
    builtins = enabled(["echo"])
    return OgcApi(service, None, builtins,
                  {pid: b.catalog_entry() for pid, b in builtins.items()},
                  FakeDeployments(catalog), offered)


class Body:
    """A request body as a route hands it over, counting what was read."""

    def __init__(self, data: bytes, content_type: str = "application/xml",
                 declared: int | None = None) -> None:
        self.data, self.reads = data, []
        self.upload = ModelUpload(content_type, len(data) if declared is None else declared,
                                  self.read)

    def read(self, size: int) -> bytes:
        self.reads.append(size)
        return self.data[:size]


def test_a_page_of_the_process_list_links_itself_the_next_and_the_previous_page():
    page = process_list(LISTED, "", 2, 2, BASE)
    assert [p["id"] for p in page["processes"]] == ["test:dissolve", "test:centroids"]
    assert page["numberMatched"] == 5
    assert [(link["rel"], link["href"]) for link in page["links"]] == [
        ("self", f"{BASE}/processes?limit=2&offset=2"),
        ("next", f"{BASE}/processes?limit=2&offset=4"),
        ("prev", f"{BASE}/processes?limit=2&offset=0")]
    first = process_list(LISTED, "", 10, 0, BASE)
    assert [link["rel"] for link in first["links"]] == ["self"]
    assert list(first) == ["processes", "numberMatched", "links"]


def test_a_search_keeps_its_words_in_every_link_and_counts_what_it_matched():
    page = process_list(LISTED, "buffer features", 1, 1, BASE)
    assert [p["id"] for p in page["processes"]] == ["test:buffer_rings"]
    assert page["numberMatched"] == 2
    assert [link["href"] for link in page["links"]] == [
        f"{BASE}/processes?limit=1&offset=1&q=buffer%20features",
        f"{BASE}/processes?limit=1&offset=0&q=buffer%20features"]
    assert process_list(LISTED, "nothing", 5, 0, BASE)["processes"] == []


def test_a_description_is_the_processs_or_a_405_for_its_execution_url():
    described, process = description(ogc_api(), "test:clip", BASE)
    assert described["id"] == "test:clip" and process is LISTED[1]
    with pytest.raises(ApiError) as refused:
        description(ogc_api(), "test:clip/execution", BASE)
    assert (refused.value.status, refused.value.field) == (405, "method")
    with pytest.raises(UnknownProcess):
        description(ogc_api(), "test:nothing", BASE)
    echo, entry = description(ogc_api(), "echo", BASE)
    assert echo["id"] == "echo" and entry["builtin"]
    assert "outputs" in echo and echo != description(ogc_api(), "test:clip", BASE)[0]


def test_part_2_is_declared_only_where_it_is_offered():
    assert not set(deploy.CONFORMANCE) & set(conformance_classes(ogc_api()))
    offered = conformance_classes(ogc_api(offered=True))
    assert offered[-2:] == deploy.CONFORMANCE
    job_list = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list"
    assert job_list in conformance_classes(ogc_api(job_list=True))
    assert job_list not in offered


def test_a_model_body_is_read_to_one_byte_past_its_limit_and_parsed():
    body = Body(MODEL.encode())
    assert model_body(body.upload, 1024) == (None, MODEL)
    assert body.reads == [2 * 1024 + 65536 + 1]


def test_a_model_body_declared_too_large_is_refused_unread():
    body = Body(b"<x/>", declared=2 * 1024 + 65536 + 1)
    with pytest.raises(DeploymentTooLarge) as refused:
        model_body(body.upload, 1024)
    assert (http_status(refused.value), refused.value.field) == (413, "body")
    assert "above the 67584 bytes a deployment takes" in refused.value.message
    assert body.reads == []


def test_a_model_body_larger_than_it_said_is_refused():
    body = Body(b"<" + b"x" * (2 * 1024 + 65536), declared=10)
    with pytest.raises(DeploymentTooLarge) as refused:
        model_body(body.upload, 1024)
    assert http_status(refused.value) == 413


def test_an_administrator_deploys_replaces_and_undeploys_a_model():
    api = ogc_api()
    summary, location = deploy_process(api, ADMIN, Body(MODEL.encode()).upload, BASE)
    assert summary["id"] == "model:None" and location == f"{BASE}/processes/model:None"
    package = b'{"processDescription": {"id": "model:rings"}, "executionUnit": ' \
              b'{"value": "<model/>"}}'
    deploy_process(api, ADMIN, Body(package, "application/ogcapppkg+json").upload, BASE)
    replace_process(api, ADMIN, "model:rings", Body(MODEL.encode()).upload)
    undeploy_process(api, ADMIN, "model:rings")
    assert api.deployments.calls == [
        ("deploy", None, MODEL, "root"), ("deploy", "rings", "<model/>", "root"),
        ("replace", "model:rings", None, MODEL, "root"), ("undeploy", "model:rings")]


@pytest.mark.parametrize(("caller", "status"), [(Caller(None), 401), (USER, 403)])
def test_only_an_administrator_deploys_and_the_body_of_anyone_else_is_never_read(caller,
                                                                                status):
    api, body = ogc_api(), Body(MODEL.encode())
    for act in (lambda: deploy_process(api, caller, body.upload, BASE),
                lambda: replace_process(api, caller, "model:a", body.upload),
                lambda: undeploy_process(api, caller, "model:a")):
        with pytest.raises(JobError) as refused:
            act()
        assert (http_status(refused.value), refused.value.field) == (status, "authorization")
    assert body.reads == [] and api.deployments.calls == []


@pytest.mark.parametrize(("refusal", "status", "problem_type"), [
    (ProcessImmutable("x"), 403, f"{EXCEPTIONS}/immutable-process"),
    (ProcessDeployedAlready("x"), 409, f"{EXCEPTIONS}/duplicated-process"),
    (NoDeployedProcess("model:a"), 404, "no-such-process"),
    (DeploymentTooLarge("x", "body"), 413, INVALID_PARAMETER),
    (DeploymentRefused("x", "executionUnit"), 400, INVALID_PARAMETER),
    (AuthenticationRequired("x"), 401, INVALID_PARAMETER),
    (NotAnAdministrator("x"), 403, INVALID_PARAMETER),
])
def test_each_deployment_refusal_is_one_problem_of_its_status_and_type(refusal, status,
                                                                        problem_type):
    """The OGC API's one mapping of the job layer's refusals (api/ogc/web.job_problem):
    Part 2's own exception types where it has one."""
    from flask import Flask

    from cloudgeo.wpsnode.api.ogc.web import job_problem

    with Flask(__name__).test_request_context("/ogcapi/processes",
                                             headers={"Accept": "application/json"}):
        answer = job_problem(refusal)
    assert answer.status_code == status
    assert answer.get_json()["type"].endswith(problem_type)
    assert answer.get_json()["status"] == status
