"""The operator's one I/O adapter (KubeApi, over kubernetes' dynamic client) against an
HTTP double of the Kubernetes API server, since none can run on these machines: the
double answers discovery and stores objects, and records what the adapter sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from kubernetes import client

from cloudgeo.operator.builders import ClusterView, build_all
from cloudgeo.operator.kubeapi import KubeApi
from cloudgeo.operator.reconcile import reconcile
from tests.support.kubernetes import ApiServerDouble

RESOURCES = {  # group version -> (plural, kind)
    "v1": [("configmaps", "ConfigMap"), ("secrets", "Secret"), ("services", "Service")],
    "apps/v1": [("deployments", "Deployment"), ("statefulsets", "StatefulSet")],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget")],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler")],
    "networking.k8s.io/v1": [("ingresses", "Ingress"), ("networkpolicies", "NetworkPolicy")],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


class HttpApiServerDouble:
    """A test double of the Kubernetes API server over HTTP: discovery, and the REST verbs
    on namespaced objects, kept in the in-memory double (`store`) by kind."""

    def __init__(self) -> None:
        self.store = ApiServerDouble()
        self.requests: list[dict] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                double.requests.append({"method": self.command, "path": url.path,
                                        "query": parse_qs(url.query),
                                        "type": self.headers.get("Content-Type")})
                code, body = double.answer(self.command, url.path, parse_qs(url.query), raw)
                self._send(code, body)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def not_found(name: str) -> tuple[int, dict]:
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "reason": "NotFound", "code": 404, "message": f"{name} not found"}

    def answer(self, method: str, path: str, query: dict, raw: bytes) -> tuple[int, dict]:
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            groups = [{"name": gv.split("/")[0], "versions": [{"groupVersion": gv,
                                                               "version": gv.split("/")[1]}],
                       "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}}
                      for gv in RESOURCES if "/" in gv]
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        for gv, kinds in RESOURCES.items():
            base = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            if path == base:
                return 200, {"kind": "APIResourceList", "groupVersion": gv, "resources": [
                    {"name": plural, "singularName": kind.lower(), "namespaced": True,
                     "kind": kind, "verbs": VERBS} for plural, kind in kinds]}
            if path.startswith(f"{base}/namespaces/"):
                parts = path[len(base) + len("/namespaces/"):].split("/")
                return self.objects_answer(method, gv, parts, query, raw)
        return self.not_found(path)

    def objects_answer(self, method, gv, parts, query, raw) -> tuple[int, dict]:
        namespace, plural, name = parts[0], parts[1], (parts[2] if len(parts) > 2 else None)
        kind = dict(RESOURCES[gv])[plural]
        if method == "GET" and name is None:
            items = self.store.list(gv, kind, namespace, query.get("labelSelector", [""])[0])
            return 200, {"kind": "List", "apiVersion": gv, "metadata": {}, "items": items}
        found = self.store.get(gv, kind, name, namespace) if name else None
        if method == "GET":
            return (200, found) if found else self.not_found(name)
        if method == "POST":
            body = json.loads(raw)
            if self.store.get(gv, kind, body["metadata"]["name"], namespace):
                return 409, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "AlreadyExists", "code": 409}
            self.store.create(body)
            return 201, body
        if method == "PATCH":
            body = yaml.safe_load(raw)
            self.store.apply(body)
            return 200, body
        if method == "DELETE":
            if not found:
                return self.not_found(name)
            self.store.delete(gv, kind, name, namespace)
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        return 405, {}


@pytest.fixture
def api_server():
    double = HttpApiServerDouble()
    yield double
    double.close()


@pytest.fixture
def kube(api_server, tmp_path) -> KubeApi:
    configuration = client.Configuration()
    configuration.host = api_server.url
    return KubeApi("cloudgeo-operator", client.ApiClient(configuration),
                   discovery_cache=str(tmp_path / "discovery.json"))


def test_apply_is_server_side_with_the_field_manager(api_server, kube):
    deployment = next(o for o in build_all(ClusterView.of(
        {"metadata": {"name": "geo", "namespace": "gis", "uid": "u"}, "spec": {}}))
        if o["kind"] == "Deployment")
    kube.apply(deployment)
    (patch,) = [r for r in api_server.requests if r["method"] == "PATCH"]
    name = deployment["metadata"]["name"]
    assert patch["path"] == f"/apis/apps/v1/namespaces/gis/deployments/{name}"
    assert patch["type"] == "application/apply-patch+yaml"
    assert patch["query"]["fieldManager"] == ["cloudgeo-operator"]
    # The client writes Python's "True"; the API server reads it with Go's ParseBool.
    assert patch["query"]["force"][0] in ("true", "True")
    stored = kube.get("apps/v1", "Deployment", deployment["metadata"]["name"], "gis")
    assert stored["spec"]["replicas"] == deployment["spec"]["replicas"]


def test_get_list_create_delete(api_server, kube):
    assert kube.get("v1", "Secret", "missing", "gis") is None
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "keys", "namespace": "gis", "labels": {"a": "1"}}, "stringData": {"k": "v"}})
    assert kube.get("v1", "Secret", "keys", "gis")["stringData"] == {"k": "v"}
    assert [o["metadata"]["name"] for o in kube.list("v1", "Secret", "gis", "a=1")] == ["keys"]
    assert kube.list("v1", "Secret", "gis", "a=2") == []
    kube.delete("v1", "Secret", "keys", "gis")
    kube.delete("v1", "Secret", "keys", "gis")  # already gone: no error
    assert kube.get("v1", "Secret", "keys", "gis") is None


def test_reconcile_through_the_adapter(api_server, kube):
    resource = {"metadata": {"name": "geo", "namespace": "gis", "uid": "u", "generation": 1},
                "spec": {"gateway": {"ingress": {"enabled": True, "host": "h"}}}}
    reconcile(resource, kube)
    assert ("Ingress", "gis", "geo-gateway") in api_server.store.objects
    assert ("Secret", "gis", "geo-minio-credentials") in api_server.store.objects
    resource["spec"] = {}
    reconcile(resource, kube)
    assert ("Ingress", "gis", "geo-gateway") not in api_server.store.objects
    kinds = {kind for kind, _, _ in api_server.store.objects}
    assert kinds == {"ConfigMap", "Secret", "Service", "Deployment", "StatefulSet",
                     "PodDisruptionBudget", "NetworkPolicy"}
