"""The Helm chart, rendered and linted by the real Helm engine (helm-python-sdk), and
manifests/ as kustomize builds it; every built-in object validated strictly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from cloudgeo.operator.install import RULES
from cloudgeo.operator.render import rendered_files
from tests.support.crd import admit

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "cloudgeo"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
CUSTOM_KINDS = {"GeoProcessingCluster", "ServiceMonitor"}


def render(values: dict | None = None) -> list[dict]:
    chart = helm.Chart.load(str(CHART))
    files = chart.render(values or {}, name="cg", namespace="gis", is_install=True)
    return [doc for path, text in files.items() if path.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def values_of(path: Path | None) -> dict:
    return yaml.safe_load(path.read_text()) if path else {}


@pytest.mark.parametrize("values_file", [None, *CI_VALUES],
                         ids=["default", *[p.stem for p in CI_VALUES]])
def test_chart_renders_valid_objects(values_file):
    docs = render(values_of(values_file))
    for doc in docs:
        if doc["kind"] == "GeoProcessingCluster":
            admit(doc)  # the CRD's own schema and rules
        elif doc["kind"] not in CUSTOM_KINDS:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
    kinds = sorted(d["kind"] for d in docs)
    assert {"ClusterRole", "ClusterRoleBinding", "Deployment", "ServiceAccount"} <= set(kinds)


def test_chart_lints_clean():
    report = helm.lint(str(CHART), strict=True)
    assert report["errors"] == []
    assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


def test_values_schema_refuses_bad_values():
    with pytest.raises(helm.HelmError, match=r"additional properties .replicas. not allowed"):
        render({"cluster": {"create": True, "replicas": 3}})
    with pytest.raises(helm.HelmError, match="pullPolicy"):
        render({"operator": {"image": {"repository": "x", "pullPolicy": "Sometimes"}}})


def test_crd_ships_in_crds_folder_and_matches_the_generated_files():
    for relative, text in rendered_files().items():
        assert (ROOT / relative).read_text() == text, (
            f"{relative} is stale: run python -m cloudgeo.operator.render")
    chart = helm.Chart.load(str(CHART))
    assert any("geoprocessingclusters.cloudgeo.io" in str(c) for c in chart.crds)


def test_chart_and_manifests_grant_the_operator_the_same_rules():
    (role,) = [d for d in render() if d["kind"] == "ClusterRole"]
    assert role["rules"] == RULES


def test_selectors_never_use_the_chart_label():
    for doc in render(values_of(CHART / "ci" / "ingress-values.yaml")):
        spec = doc.get("spec") or {}
        selector = spec.get("selector") or {}
        labels = selector.get("matchLabels", {}) if isinstance(selector, dict) else {}
        assert "helm.sh/chart" not in labels
        assert all(k.startswith("app.kubernetes.io/") for k in labels), (doc["kind"], labels)


def test_dashboard_configmap_and_servicemonitor():
    docs = render({"serviceMonitor": {"enabled": True}})
    (dashboard,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(dashboard["data"]["cloudgeo.json"])
    titles = " ".join(p["title"] for p in board["panels"]).lower()
    for topic in ("requests per node", "latency", "by status", "queue depth",
                  "busy qgis workers", "bytes through the file service"):
        assert topic in titles
    (monitor,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["http", "metrics"]
    assert not [d for d in render() if d["kind"] == "ServiceMonitor"]


def test_helm_test_hook_calls_the_gateway():
    (pod,) = [d for d in render() if d["kind"] == "Pod"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "http://geo-gateway.gis.svc/api/wps/processes/native:buffer" in \
        pod["spec"]["containers"][0]["command"][-1]
    assert pod["spec"]["automountServiceAccountToken"] is False  # only the operator's has one


def test_notes_tell_how_to_reach_the_gateway():
    chart = helm.Chart.load(str(CHART))
    notes = chart.render({}, name="cg", namespace="gis")["cloudgeo/templates/NOTES.txt"]
    assert "kubectl -n gis port-forward svc/geo-gateway 9000:80" in notes
    ingress = chart.render(values_of(CHART / "ci" / "ingress-values.yaml"), name="cg",
                           namespace="gis")["cloudgeo/templates/NOTES.txt"]
    assert "https://wps.example.org/" in ingress


def test_manifests_build_with_kustomize_and_validate():
    kubectl = Path(sys.executable).with_name("kubectl")
    built = subprocess.run([str(kubectl), "kustomize", str(ROOT / "manifests")], check=True,
                           capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(built) if d]
    assert {d["kind"] for d in docs} == {"Namespace", "CustomResourceDefinition",
                                         "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                         "Deployment", "GeoProcessingCluster"}
    for doc in docs:
        if doc["kind"] == "GeoProcessingCluster":
            assert admit(doc)["metadata"]["namespace"] == "cloudgeo"
        else:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_chart_and_manifests_run_the_operator_the_same_way():
    from cloudgeo.operator.install import operator_objects

    (charted,) = [d for d in render() if d["kind"] == "Deployment"]
    (listed,) = [d for d in operator_objects("gis") if d["kind"] == "Deployment"]
    ours, theirs = charted["spec"]["template"]["spec"], listed["spec"]["template"]["spec"]
    assert ours["volumes"] == theirs["volumes"]
    assert ours["securityContext"] == theirs["securityContext"]
    for field in ("ports", "livenessProbe", "securityContext", "volumeMounts", "resources"):
        assert ours["containers"][0][field] == theirs["containers"][0][field], field
