"""Models and scripts as processes: the pure rules (catalog/models.py), the folder, the
live catalogue over a models.json, and Part 2's request bodies (api/ogc/deploy.py)."""

from __future__ import annotations

import json
import time

import pytest

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.ogc.deploy import parse_body
from cloudgeo.wpsnode.caller import Caller
from cloudgeo.wpsnode.catalog.models import (
    ModelDefinition,
    as_process,
    children_problem,
    content_problem,
    decide,
    identifier_parts,
    read_folder,
)
from cloudgeo.wpsnode.catalog.policy import PublicationPolicy
from cloudgeo.wpsnode.catalog.store import Catalog
from cloudgeo.wpsnode.jobs.errors import AuthenticationRequired, NotAnAdministrator
from cloudgeo.wpsnode.jobs.models import LiveCatalog, admin_only, models_file

MODEL_XML = '<!DOCTYPE model>\n<Option type="Map"><Option name="model_name" value="m"/></Option>'


def process(pid: str, provider: str = "native", inputs=()) -> dict:
    return {"id": pid, "title": pid, "provider": provider, "providerName": provider,
            "group": "g", "description": "", "inputs": list(inputs), "destinations": [],
            "outputs": []}


BASE = {p["id"]: p for p in (process("native:buffer"), process("native:dissolve"),
                             process("gdal:cliprasterbyextent", "gdal"),
                             process("native:filedownloader"))}


def described(*algorithms: str, parameters=()) -> dict:
    return {**process("m"), "provider": "", "steps": [
        {"algorithm": a, "parameters": list(parameters)} for a in algorithms]}


def test_a_model_calling_only_published_algorithms_is_published():
    definition = ModelDefinition("model", "bd", MODEL_XML)
    decision = decide(definition, described("native:buffer", "native:dissolve"), None,
                      PublicationPolicy(), BASE)
    assert decision.published
    published = as_process(definition, described("native:buffer"))
    assert published["id"] == "model:bd" and published["provider"] == "model"
    assert "steps" not in published


@pytest.mark.parametrize(("algorithms", "named"), [
    (["native:buffer", "native:executesql"], "native:executesql"),  # withheld or unknown
    (["model:other"], "model:other"),  # a model nesting another model
    (["script:tool"], "script:tool"),  # a script
    (["native:filedownloader"], "native:filedownloader"),  # only through the node's fetcher
    ([], "no step"),
])
def test_a_model_calling_what_is_not_published_is_withheld_naming_it(algorithms, named):
    decision = decide(ModelDefinition("model", "bad", MODEL_XML), described(*algorithms),
                      None, PublicationPolicy(), BASE)
    assert not decision.published and named in decision.reason


def test_a_model_setting_a_withheld_parameter_is_withheld():
    problem = children_problem([{"algorithm": "gdal:cliprasterbyextent",
                                 "parameters": ["INPUT", "EXTRA"]}], BASE)
    assert problem and "EXTRA" in problem


def test_the_operators_globs_apply_to_models_and_a_deployed_script_is_refused():
    definition = ModelDefinition("model", "bd", MODEL_XML)
    policy = PublicationPolicy.from_globs(exclude=["model:*"])
    assert not decide(definition, described("native:buffer"), None, policy, BASE).published
    script = ModelDefinition("script", "s", "x = 1", origin="deployed")
    assert not decide(script, process("s"), None, PublicationPolicy(), BASE).published
    folder_script = ModelDefinition("script", "s", "x = 1")
    assert decide(folder_script, process("s"), None, PublicationPolicy(), BASE).published
    assert not decide(definition, None, "broken", PublicationPolicy(), BASE).published


def test_the_folder_gives_models_and_scripts_and_says_what_it_skipped(tmp_path):
    (tmp_path / "buffer_dissolve.model3").write_text(MODEL_XML)
    (tmp_path / "tool.py").write_text("x = 1")
    (tmp_path / ".hidden.model3").write_text(MODEL_XML)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "bad name.model3").write_text(MODEL_XML)
    (tmp_path / "huge.model3").write_text("x" * 5000)
    (tmp_path / "sub.model3").mkdir()
    found, skipped = read_folder(tmp_path, 4096)
    assert set(found) == {"model:buffer_dissolve", "script:tool"}
    assert set(skipped) == {"bad name.model3", "huge.model3"}
    assert "CLOUDGEO_WPS_MAX_MODEL_SIZE" in skipped["huge.model3"]
    assert read_folder(None, 4096) == ({}, {})


def test_identifiers():
    assert identifier_parts("model:a_b") == ("model", "a_b")
    assert identifier_parts("script:x") == ("script", "x")
    assert identifier_parts("native:buffer") is None
    assert identifier_parts("model:../x") is None


def test_content_is_refused_before_qgis_reads_it():
    assert content_problem("model", MODEL_XML) is None
    entity = '<?xml version="1.0"?><!DOCTYPE model [<!ENTITY a "aaaa">]><Option/>'
    assert "entity" in content_problem("model", entity)
    assert content_problem("model", '{"not": "xml"}')


def write_models(state, entries):
    path = models_file(state)
    path.write_text(json.dumps({"models": entries, "skipped": {}}))


def stored(name: str, *algorithms: str) -> dict:
    definition = ModelDefinition("model", name, MODEL_XML + name)
    return {"kind": "model", "name": name, "content": definition.content,
            "sha": definition.sha, "description": described(*algorithms), "error": None}


def test_the_live_catalogue_follows_models_json(tmp_path):
    base = Catalog("3.22", dict(BASE))
    live = LiveCatalog(base, tmp_path, None, PublicationPolicy(), refresh=0)
    assert live.current().processes.keys() == BASE.keys()
    write_models(tmp_path, [stored("good", "native:buffer"),
                            stored("bad", "native:buffer", "native:executesql")])
    catalog = live.current()
    assert "model:good" in catalog.processes and "model:bad" not in catalog.processes
    assert "native:executesql" in catalog.decisions["model:bad"].reason
    assert live.definition("model:good")["content"].endswith("good")
    time.sleep(0.01)
    write_models(tmp_path, [stored("bad", "native:buffer", "native:executesql")])
    assert "model:good" not in live.current().processes
    assert live.definition("model:good") is None
    models_file(tmp_path).unlink()
    assert live.current().processes.keys() == BASE.keys()


def test_only_an_authenticated_administrator_deploys():
    with pytest.raises(AuthenticationRequired):
        admin_only(Caller(None))
    with pytest.raises(NotAnAdministrator, match="bob is not an administrator"):
        admin_only(Caller("bob"))
    admin_only(Caller("root", admin=True))


def test_a_deploy_body_is_a_model3_or_a_package_wrapping_one():
    assert parse_body("application/xml", MODEL_XML.encode()) == (None, MODEL_XML)
    assert parse_body("", MODEL_XML.encode()) == (None, MODEL_XML)
    package = {"processDescription": {"id": "model:bd"},
               "executionUnit": {"value": MODEL_XML, "mediaType": "application/xml"}}
    assert parse_body("application/ogcapppkg+json", json.dumps(package).encode()) == \
        ("bd", MODEL_XML)
    nested = {"processDescription": {"process": {"id": "bd"}},
              "executionUnit": [{"value": MODEL_XML}]}
    assert parse_body("application/json", json.dumps(nested).encode()) == ("bd", MODEL_XML)


@pytest.mark.parametrize(("media", "body", "status", "field"), [
    ("application/ogcapppkg+json", {"executionUnit": {"href": "http://x/m.model3"}}, 400,
     "executionUnit.href"),
    ("application/ogcapppkg+json", {"processDescription": {"id": "bd"}}, 400,
     "executionUnit"),
    ("application/ogcapppkg+json", {"executionUnit": [{"value": "a"}, {"value": "b"}]},
     400, "executionUnit"),
    ("application/ogcapppkg+json", {"executionUnit": {"value": 3}}, 400,
     "executionUnit.value"),
    ("application/ogcapppkg+json", {"executionUnit": {"value": "x"},
                                    "processDescription": {"id": 5}}, 400,
     "processDescription.id"),
    ("application/ogcapppkg+json", "not json", 400, "body"),
    ("application/cwl+yaml", "class: Workflow", 415, "Content-Type"),
])
def test_bad_deploy_bodies_are_refused_naming_the_field(media, body, status, field):
    raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    with pytest.raises(ApiError) as refused:
        parse_body(media, raw)
    assert (refused.value.status, refused.value.field) == (status, field)


def test_a_models_algorithms_are_read_without_qgis():
    from cloudgeo.wpsnode.catalog.models import model_algorithms

    xml = ('<!DOCTYPE model>\n<Option type="Map"><Option type="Map" name="children">'
           '<Option type="Map" name="a"><Option type="QString" name="alg_id" '
           'value="native:buffer"/></Option><Option type="Map" name="b"><Option '
           'name="alg_id" type="QString" value="model:other"/></Option></Option></Option>')
    assert model_algorithms(xml) == ["native:buffer", "model:other"]
    assert model_algorithms("<Option") is None


def test_the_folder_is_described_once_per_change_and_reviewed(tmp_path, monkeypatch):
    """FolderModels with QGIS's describing replaced by a test double (the integration
    tests describe with QGIS itself)."""
    from cloudgeo.wpsnode.jobs import models as live

    calls = []

    def fake_describe(definitions, _state):
        calls.append(sorted(d.name for d in definitions))
        steps = {"good": ["native:buffer"], "bad": ["qgis:advancedpythonfieldcalculator"]}
        return {d.sha: (described(*steps[d.name]), None) for d in definitions}

    monkeypatch.setattr(live, "describe_with_qgis", fake_describe)
    folder, state = tmp_path / "models", tmp_path / "state"
    folder.mkdir()
    state.mkdir()
    (folder / "good.model3").write_text(MODEL_XML)
    (folder / "bad.model3").write_text(MODEL_XML + " ")
    watcher = live.FolderModels(folder, state, 4096, PublicationPolicy(),
                                Catalog("3.22", dict(BASE)))
    assert watcher.refresh() and not watcher.refresh()
    assert calls == [["bad", "good"]]
    review = live.review_file(state).read_text()
    assert "model:good\tpublished" in review
    assert "model:bad\twithheld" in review and "advancedpythonfieldcalculator" in review
    catalog = LiveCatalog(Catalog("3.22", dict(BASE)), state, None, PublicationPolicy(),
                          refresh=0).current()
    assert "model:good" in catalog.processes and "model:bad" not in catalog.processes
    time.sleep(0.01)
    (folder / "good.model3").unlink()
    assert watcher.refresh() and calls == [["bad", "good"]]  # nothing new to describe
    assert "model:good" not in live.review_file(state).read_text()


def test_a_qgis_failure_is_described_again_later(tmp_path, monkeypatch):
    from cloudgeo.wpsnode.catalog.models import QGIS_FAILED
    from cloudgeo.wpsnode.jobs import models as live

    monkeypatch.setattr(live, "describe_with_qgis", lambda definitions, _state: {
        d.sha: (None, f"{QGIS_FAILED}: killed") for d in definitions})
    (tmp_path / "m.model3").write_text(MODEL_XML)
    watcher = live.FolderModels(tmp_path, tmp_path, 4096, PublicationPolicy(),
                                Catalog("3.22", dict(BASE)))
    assert watcher.refresh()
    assert watcher.signature is None and watcher.cache == {}
    assert not watcher.refresh()  # not at once: RETRY_SECONDS later


def test_the_worker_checks_a_jobs_model_again_against_its_own_policy():
    from types import SimpleNamespace

    from cloudgeo.wpsnode.worker.runner import JobFailed, JobRunner

    worker = SimpleNamespace(catalog=Catalog("3.22", dict(BASE)))
    good = {"kind": "model", "name": "m", "steps": [{"algorithm": "native:buffer"}],
            "process": {"id": "model:m"}}
    assert JobRunner._model_process(worker, "model:m", good) == {"id": "model:m"}
    withheld = {**good, "steps": [{"algorithm": "qgis:advancedpythonfieldcalculator"}]}
    with pytest.raises(JobFailed, match="advancedpythonfieldcalculator"):
        JobRunner._model_process(worker, "model:m", withheld)
    with pytest.raises(JobFailed, match="does not match"):
        JobRunner._model_process(worker, "model:other", good)


def test_without_authentication_nobody_deploys_and_part_2_is_not_declared(tmp_path):
    from tests.support.node_app import empty_catalog, node_app

    node = node_app(empty_catalog(tmp_path), tmp_path).test_client()
    answer = node.post("/ogcapi/processes", data=MODEL_XML,
                       headers={"Content-Type": "application/xml"})
    assert answer.status_code == 401 and "administrator" in answer.json["detail"]
    assert node.delete("/ogcapi/processes/model:x").status_code == 401
    classes = node.get("/ogcapi/conformance").json["conformsTo"]
    assert not [c for c in classes if "ogcapi-processes-2" in c]
    admins = node_app(empty_catalog(tmp_path), tmp_path, user_header="X-User",
                      admins="root").test_client()
    classes = admins.get("/ogcapi/conformance", headers={"X-User": "bob"}).json["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf/deploy-replace-undeploy" \
        in classes
    assert admins.post("/ogcapi/processes", data=MODEL_XML,
                       headers={"X-User": "bob"}).status_code == 403
    assert admins.post("/ogcapi/processes", data=MODEL_XML).status_code == 401


def test_a_config_map_update_is_seen_through_its_links(tmp_path):
    """The kubelet updates a mounted ConfigMap by pointing `..data` at a new folder;
    each key is a link through `..data`."""
    from cloudgeo.wpsnode.catalog.models import folder_signature

    for version, text in (("..v1", MODEL_XML), ("..v2", MODEL_XML + "<!-- v2 -->")):
        (tmp_path / version).mkdir()
        (tmp_path / version / "bd.model3").write_text(text)
    (tmp_path / "..data").symlink_to("..v1")
    (tmp_path / "bd.model3").symlink_to("..data/bd.model3")
    before = folder_signature(tmp_path)
    assert read_folder(tmp_path, 4096)[0]["model:bd"].content == MODEL_XML
    (tmp_path / "..data_tmp").symlink_to("..v2")
    (tmp_path / "..data_tmp").replace(tmp_path / "..data")  # the kubelet's atomic swap
    assert folder_signature(tmp_path) != before
    assert read_folder(tmp_path, 4096)[0]["model:bd"].content.endswith("v2 -->")
