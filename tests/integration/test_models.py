"""QGIS models and scripts as processes (issue 28, items 3 and 4), on real nodes with
QGIS workers, Redis and SeaweedFS: the operator's folder (published, withheld, changed
without a restart) and OGC API – Processes Part 2 (deploy on one node, run on another,
replace, undeploy), with the abuses refused."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import requests
from lxml import etree
from owslib.wps import SYNC, ComplexDataInput, WebProcessingService

from tests.conftest import start_wps_node
from tests.support.qgis_models import make_models
from tests.support.wps import download, ref, vector_summary

NS = {"wps": "http://www.opengis.net/wps/1.0.0", "ows": "http://www.opengis.net/ows/1.1"}
USER_HEADER = "X-Test-User"
ADMIN = {USER_HEADER: "root"}
ALICE = {USER_HEADER: "alice"}
PART2 = "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf/deploy-replace-undeploy"


@pytest.fixture(scope="module")
def made(state_root: Path) -> dict[str, str]:
    """The tests' models and script, made by QGIS: file name -> text."""
    return make_models(state_root / "models-source")


@pytest.fixture(scope="module")
def models_dir(state_root: Path, made) -> Path:
    folder = state_root / "models-folder"
    folder.mkdir(exist_ok=True)
    for name in ("buffer_dissolve.model3", "python_calc.model3", "double.py"):
        (folder / name).write_text(made[name])
    return folder


@pytest.fixture(scope="module")
def model_nodes(state_root, file_s3, file_api, redis_server, catalog_path, models_dir):
    """Two nodes on a Redis database of their own, authentication on (root is admin):
    the first publishes the operator's folder, the second has no folder."""
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/5"
    settings = {"allowed_hosts": file_api.url, "user_header": USER_HEADER,
                "admins": "root", "max_model_size": str(256 * 1024),
                "queue": "cloudgeo.models-test", "qgis_workers": "1"}
    first = start_wps_node(state_root, "models-a", file_s3, redis_url, file_api.url,
                           catalog_path, models_dir=str(models_dir), **settings)
    second = start_wps_node(state_root, "models-b", file_s3, redis_url, file_api.url,
                            catalog_path, **settings)
    yield first.url, second.url
    first.stop()
    second.stop()
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def wait_for(check, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def output_name(node: str, identifier: str) -> str:
    described = requests.get(f"{node}/processes/{identifier}", headers=ALICE,
                             timeout=30).json()["data"]
    (name,) = [o["name"] for o in described["outputs"] if o["dataType"] == "vectorOutput"]
    return name


def check_dissolved(url: str) -> None:
    count, geometry, areas = vector_summary(download(url))
    assert count == 1 and "Polygon" in geometry and areas[0] > 0


# -- item 3: the operator's folder --------------------------------------------------

def run_buffer_dissolve(node: str, process: str, samples) -> None:
    """A buffer-and-dissolve model run sync through the CloudGeo JSON API, its output
    read and checked."""
    out = output_name(node, process)
    answer = requests.post(f"{node}/jobs", headers=ALICE, timeout=300, json={
        "identifier": process, "inputs": {"input": ref(samples["points"]), "distance": 5000}})
    assert answer.status_code == 200, answer.text
    check_dissolved(answer.json()["data"]["output"][out])


def test_a_folder_model_is_described_and_runs_through_every_api(model_nodes, samples):
    node, _ = model_nodes
    listed = requests.get(f"{node}/processes", headers=ALICE, timeout=30).json()["data"]
    ids = {p["id"] for p in listed["processes"]}
    assert {"model:buffer_dissolve", "script:double"} <= ids
    described = requests.get(f"{node}/processes/model:buffer_dissolve", headers=ALICE,
                             timeout=30).json()["data"]
    inputs = {i["name"]: i for i in described["inputs"]}
    assert inputs["input"]["dataType"] == "vector"
    assert inputs["distance"]["dataType"] == "number" and inputs["distance"]["default"] == 10
    assert described["provider"] == "model" and "steps" not in described
    out = output_name(node, "model:buffer_dissolve")

    # The CloudGeo JSON API, sync.
    run_buffer_dissolve(node, "model:buffer_dissolve", samples)

    # WPS 1.0.0 through OWSLib.
    wps = WebProcessingService(f"{node}/wps", skip_caps=True, timeout=120,
                              headers=dict(ALICE))  # OWSLib adds to the dict it gets
    wps.getcapabilities()
    assert "model:buffer_dissolve" in {p.identifier for p in wps.processes}
    process = wps.describeprocess("model:buffer_dissolve")
    assert {i.identifier for i in process.dataInputs} == {"input", "distance"}
    execution = wps.execute("model:buffer_dissolve", [
        ("input", ComplexDataInput(samples["points"], mimeType="application/zip")),
        ("distance", "5000")], output=[(out, True)], mode=SYNC)
    assert execution.isSucceded(), [e.text for e in execution.errors]
    check_dissolved(execution.processOutputs[0].reference)

    # OGC API – Processes.
    ogc = requests.get(f"{node}/ogcapi/processes/model:buffer_dissolve", headers=ALICE,
                       timeout=30)
    assert ogc.status_code == 200 and "input" in ogc.json()["inputs"]
    executed = requests.post(
        f"{node}/ogcapi/processes/model:buffer_dissolve/execution", headers=ALICE,
        timeout=300, json={"inputs": {"input": {"href": samples["points"]},
                                      "distance": 5000}})
    assert executed.status_code == 200, executed.text
    check_dissolved(executed.json()[out]["href"])
    page = requests.get(f"{node}/ogcapi/processes/model:buffer_dissolve?f=html",
                        headers=ALICE, timeout=30)
    assert page.status_code == 200 and "distance" in page.text


def test_a_folder_script_runs(model_nodes):
    node, _ = model_nodes
    answer = requests.post(f"{node}/jobs", headers=ALICE, timeout=300, json={
        "identifier": "script:double", "inputs": {"VALUE": 21}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["output"]["DOUBLED"] == 42


def test_a_model_calling_a_withheld_algorithm_is_absent_everywhere(model_nodes,
                                                                   state_root, samples):
    node, _ = model_nodes
    pid = "model:python_calc"
    assert requests.get(f"{node}/processes/{pid}", headers=ALICE,
                        timeout=30).status_code == 404
    assert requests.get(f"{node}/ogcapi/processes/{pid}", headers=ALICE,
                        timeout=30).status_code == 404
    run = requests.post(f"{node}/jobs", headers=ALICE, timeout=60, json={
        "identifier": pid, "inputs": {"input": ref(samples["points"])}})
    assert run.status_code == 404
    capabilities = requests.get(f"{node}/wps", headers=ALICE, timeout=60, params={
        "service": "WPS", "request": "GetCapabilities"})
    assert pid.encode() not in capabilities.content
    describe = requests.get(f"{node}/wps", headers=ALICE, timeout=60, params={
        "service": "WPS", "version": "1.0.0", "request": "DescribeProcess",
        "identifier": pid})
    assert describe.status_code == 400
    # The review says why.
    review = (state_root / "models-a" / "models-review.tsv").read_text()
    (line,) = [x for x in review.splitlines() if x.startswith(pid)]
    assert "withheld" in line and "qgis:advancedpythonfieldcalculator" in line


def test_a_change_to_the_folder_is_published_without_a_restart(model_nodes, models_dir):
    node, _ = model_nodes

    def published(pid: str) -> bool:
        return requests.get(f"{node}/ogcapi/processes/{pid}", headers=ALICE,
                            timeout=30).status_code == 200

    shutil.copy(models_dir / "buffer_dissolve.model3", models_dir / "copy_of_bd.model3")
    assert wait_for(lambda: published("model:copy_of_bd"), 60)
    (models_dir / "copy_of_bd.model3").unlink()
    assert wait_for(lambda: not published("model:copy_of_bd"), 10)


# -- item 4: OGC API – Processes Part 2 -----------------------------------------------

def package(name: str, model: str) -> dict:
    return {"processDescription": {"id": name, "version": "1.0.0"},
            "executionUnit": {"value": model, "mediaType": "application/xml"}}


def test_deploy_run_elsewhere_replace_and_undeploy(model_nodes, made, samples):
    first, second = model_nodes
    model = made["buffer_dissolve.model3"]
    conformance = requests.get(f"{first}/ogcapi/conformance", headers=ALICE,
                               timeout=30).json()["conformsTo"]
    assert PART2 in conformance

    deployed = requests.post(f"{first}/ogcapi/processes", headers=ADMIN, timeout=120,
                             json=package("deployed_bd", model))
    assert deployed.status_code == 201, deployed.text
    assert deployed.headers["Location"].endswith("/ogcapi/processes/model:deployed_bd")
    started = time.monotonic()
    assert wait_for(lambda: requests.get(
        f"{second}/ogcapi/processes/model:deployed_bd", headers=ALICE,
        timeout=30).status_code == 200, 5)
    run_buffer_dissolve(second, "model:deployed_bd", samples)
    print(f"deployed on one node, described and run on another in "
          f"{time.monotonic() - started:.1f} s")

    # Replaced: a raw .model3 with another default distance.
    replaced_model = model.replace('"Buffer distance"', '"Distance (replaced)"')
    assert replaced_model != model
    replaced = requests.put(f"{first}/ogcapi/processes/model:deployed_bd",
                            headers={**ADMIN, "Content-Type": "application/xml"},
                            data=replaced_model.encode(), timeout=120)
    assert replaced.status_code == 204, replaced.text

    def title_on_second() -> str:
        described = requests.get(f"{second}/processes/model:deployed_bd", headers=ALICE,
                                 timeout=30).json()["data"]
        return {i["name"]: i["title"] for i in described["inputs"]}["distance"]

    assert wait_for(lambda: title_on_second() == "Distance (replaced)", 5)

    undeployed = requests.delete(f"{first}/ogcapi/processes/model:deployed_bd",
                                 headers=ADMIN, timeout=30)
    assert undeployed.status_code == 204
    assert wait_for(lambda: requests.get(
        f"{second}/ogcapi/processes/model:deployed_bd", headers=ALICE,
        timeout=30).status_code == 404, 5)
    assert requests.get(f"{first}/processes/model:deployed_bd", headers=ALICE,
                        timeout=30).status_code == 404
    again = requests.delete(f"{first}/ogcapi/processes/model:deployed_bd", headers=ADMIN,
                            timeout=30)
    assert again.status_code == 404


def test_anonymous_callers_and_non_admins_cannot_deploy(model_nodes, made):
    first, _ = model_nodes
    body = package("sneaky", made["buffer_dissolve.model3"])
    assert requests.post(f"{first}/ogcapi/processes", json=body,
                         timeout=30).status_code == 401
    for method in ("post", "put", "delete"):
        url = f"{first}/ogcapi/processes" + ("" if method == "post" else "/model:buffer_dissolve")
        answer = getattr(requests, method)(url, json=body, headers=ALICE, timeout=30)
        assert answer.status_code == 403, (method, answer.text)
        assert "administrator" in answer.json()["detail"]
    assert requests.get(f"{first}/processes/model:sneaky", headers=ALICE,
                        timeout=30).status_code == 404


def test_abusive_deployments_are_refused(model_nodes, made):
    first, second = model_nodes
    withheld = requests.post(f"{first}/ogcapi/processes", headers=ADMIN, timeout=120,
                             json=package("calc", made["python_calc.model3"]))
    assert withheld.status_code == 400
    assert "qgis:advancedpythonfieldcalculator" in withheld.json()["detail"]

    nested = made["buffer_dissolve.model3"].replace('"native:dissolve"',
                                                    '"model:buffer_dissolve"')
    assert nested != made["buffer_dissolve.model3"]
    refused = requests.post(f"{first}/ogcapi/processes", headers=ADMIN, timeout=120,
                            json=package("nested", nested))
    assert refused.status_code == 400 and "model:buffer_dissolve" in refused.json()["detail"]

    huge = made["buffer_dissolve.model3"].replace("</Option>", " " * 300_000 + "</Option>", 1)
    too_big = requests.post(f"{first}/ogcapi/processes",
                            headers={**ADMIN, "Content-Type": "application/xml"},
                            data=huge.encode(), timeout=60)
    assert too_big.status_code == 413 and "CLOUDGEO_WPS_MAX_MODEL_SIZE" in too_big.text

    script = requests.post(f"{first}/ogcapi/processes", headers=ADMIN, timeout=60,
                           json=package("py", "import os\nos.system('id')\n"))
    assert script.status_code == 400

    over_folder = requests.post(f"{first}/ogcapi/processes", headers=ADMIN, timeout=120,
                                json=package("buffer_dissolve",
                                             made["buffer_dissolve.model3"]))
    assert over_folder.status_code == 403
    assert over_folder.json()["type"].endswith("immutable-process")
    assert requests.delete(f"{first}/ogcapi/processes/native:buffer", headers=ADMIN,
                           timeout=30).status_code == 403

    first_time = requests.post(f"{first}/ogcapi/processes", headers=ADMIN, timeout=120,
                               json=package("twice", made["buffer_dissolve.model3"]))
    assert first_time.status_code == 201
    duplicate = requests.post(f"{second}/ogcapi/processes", headers=ADMIN, timeout=120,
                              json=package("twice", made["buffer_dissolve.model3"]))
    assert duplicate.status_code == 409
    assert duplicate.json()["type"].endswith("duplicated-process")
    assert requests.delete(f"{second}/ogcapi/processes/model:twice", headers=ADMIN,
                           timeout=30).status_code == 204
    for pid in ("model:calc", "model:nested", "model:py"):
        assert requests.get(f"{second}/processes/{pid}", headers=ALICE,
                            timeout=30).status_code == 404
    # The XML the capabilities answer with holds none of them either.
    capabilities = etree.fromstring(requests.get(f"{second}/wps", headers=ALICE, timeout=60,
                                                 params={"service": "WPS",
                                                         "request": "GetCapabilities"}
                                                 ).content)
    ids = {e.text for e in capabilities.findall(".//wps:Process/ows:Identifier", NS)}
    assert "native:buffer" in ids and not {"model:calc", "model:nested", "model:twice"} & ids
