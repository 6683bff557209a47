"""The operator on a real Kubernetes (kind): install the chart, apply a
GeoProcessingCluster, wait for Ready, run a job through a port-forward, scale, delete.

Needs docker (with a running engine), kind, kubectl and helm on PATH and images that
kind can load; skipped, with the reason printed, where any is missing (as on the
machines this project is developed on, where no Kubernetes can run).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from cloudgeo.common.managed_processes import free_port

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ["cloudgeo/wps-node:0.1.0", "cloudgeo/file-service:0.1.0", "cloudgeo/gateway:0.1.0",
          "cloudgeo/operator:0.1.0"]


def why_not() -> str | None:
    for tool in ("docker", "kind", "kubectl", "helm"):
        if not shutil.which(tool):
            return f"'{tool}' is not on PATH"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "no Docker engine answers (docker info failed)"
    for image in IMAGES:
        if subprocess.run(["docker", "image", "inspect", image],
                          capture_output=True).returncode != 0:
            return f"image {image} is not built (docker build -f images/... see docs/kubernetes.md)"
    return None


REASON = why_not()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"kind e2e: {REASON}")


def sh(*argv: str, **kwargs) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


@pytest.fixture(scope="module")
def kind_cluster():
    name = f"cloudgeo-e2e-{uuid.uuid4().hex[:6]}"
    sh("kind", "create", "cluster", "--name", name, "--wait", "120s")
    try:
        for image in IMAGES:
            sh("kind", "load", "docker-image", image, "--name", name)
        yield name
    finally:
        sh("kind", "delete", "cluster", "--name", name)


def wait_ready(namespace: str, name: str, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = json.loads(sh("kubectl", "-n", namespace, "get", "geoprocessingcluster", name,
                             "-o", "json"))
        ready = [c for c in body.get("status", {}).get("conditions", [])
                 if c["type"] == "Ready"]
        if ready and ready[0]["status"] == "True":
            return body
        time.sleep(5)
    raise AssertionError(f"{name} never became Ready: {body.get('status')}")


def test_operator_runs_a_cluster_on_kind(kind_cluster):
    namespace = "cloudgeo"
    sh("helm", "install", "cg", str(ROOT / "charts/cloudgeo"), "--namespace", namespace,
       "--create-namespace", "--set", "cluster.spec.wpsNodes.replicas=2",
       "--set", "cluster.spec.objectStorage.minio.persistence.enabled=false")
    body = wait_ready(namespace, "geo")
    assert body["status"]["readyNodes"] == 2
    port = free_port()
    forward = subprocess.Popen(["kubectl", "-n", namespace, "port-forward", "svc/geo-gateway",
                                f"{port}:80"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(3)
        answer = requests.get(f"http://127.0.0.1:{port}/api/wps/processes/native:buffer",
                              timeout=30)
        assert answer.status_code == 200 and answer.json()["data"]["id"] == "native:buffer"
        sh("helm", "test", "cg", "--namespace", namespace)
    finally:
        forward.terminate()
    sh("kubectl", "-n", namespace, "scale", "geoprocessingcluster", "geo", "--replicas=3")
    assert wait_ready(namespace, "geo")["status"]["readyNodes"] == 3
    sh("kubectl", "-n", namespace, "delete", "geoprocessingcluster", "geo", "--wait=true")
    left = sh("kubectl", "-n", namespace, "get", "deployments", "-l",
              "app.kubernetes.io/instance=geo", "-o", "name")
    assert left.strip() == ""
