"""The images, built for real with Docker from debian:bookworm-slim (made here with
debootstrap), then run together on a private container network: Redis (a test-only
image, as no registry can be reached), SeaweedFS, the file service, two WPS nodes and
the gateway, with the seed's walkthrough run through the gateway container.

Skipped, with the reason, where there is no Docker engine, debootstrap or root.
"""

from __future__ import annotations

import io
import json
import subprocess
import time
import uuid
from contextlib import redirect_stdout

import numpy as np
import pytest
import requests

from cloudgeo.client import download, upload_file
from cloudgeo.common.managed_processes import free_port
from cloudgeo.samples import four_band_geotiff
from tests.support.docker import DockerEngine, why_no_engine
from tests.support.images import PRODUCT_IMAGES, reference
from tests.support.wps import raster_array

pytestmark = [
    pytest.mark.skipif(why_no_engine() is not None,
                       reason=f"no container engine: {why_no_engine()}"),
    # The first test also pays for debootstrap and six image builds (about 4 min here).
    pytest.mark.timeout(2400),
]


@pytest.fixture(scope="module")
def engine(built_images):
    print("image MB:", {name: round(inspect(built_images.engine, reference(name))["Size"] / 1e6)
                        for name in PRODUCT_IMAGES})
    return built_images.engine


def inspect(engine: DockerEngine, image: str) -> dict:
    return json.loads(engine.run("image", "inspect", image).stdout)[0]


@pytest.mark.parametrize("name", PRODUCT_IMAGES)
def test_images_run_as_a_non_root_user_with_a_health_check(engine, name):
    config = inspect(engine, reference(name))["Config"]
    assert config["User"] == "10001"
    assert config["Healthcheck"]["Test"][0] == "CMD"


def test_operator_image_carries_kopf_and_the_handlers(engine):
    done = engine.run("run", "--rm", "--network=none", reference("operator"), "python",
                      "-c", "import kopf, cloudgeo.operator.handlers as h; print(h.settings())")
    assert "field_manager='cloudgeo-operator'" in done.stdout


class ContainerCluster:
    """The product images and the test stores on one user-defined network."""

    def __init__(self, engine: DockerEngine) -> None:
        self.engine = engine
        self.suffix = uuid.uuid4().hex[:6]
        self.network = f"cloudgeo-test-{self.suffix}"
        self.bridge = f"cgt{self.suffix}"
        self.forward_rule: list[str] | None = None
        self.port = free_port()
        self.gateway_url = f"http://127.0.0.1:{self.port}"
        self.names: list[str] = []

    def name(self, role: str) -> str:
        return f"{role}-{self.suffix}"

    def run(self, role: str, image: str, env: dict[str, str] | None = None,
            flags: tuple[str, ...] = ()) -> None:
        options = ["--detach", f"--name={self.name(role)}", f"--network={self.network}",
                   f"--network-alias={role}", *flags,
                   *(f"--env={key}={value}" for key, value in (env or {}).items())]
        self.engine.run("run", *options, reference(image))
        self.names.append(self.name(role))

    def health(self, role: str) -> str:
        return self.engine.run("inspect", "--format", "{{.State.Health.Status}}",
                               self.name(role), check=False).stdout.strip()

    def up(self) -> None:
        self.engine.run("network", "create", f"--opt=com.docker.network.bridge.name={self.bridge}",
                        self.network)
        self.forward_rule = allow_bridge_traffic(self.bridge)
        common = {"CLOUDGEO_REDIS_URL": "redis://redis:6379/0", "CLOUDGEO_REGISTRY": "redis",
                  "CLOUDGEO_S3_ENDPOINT": "s3:8333", "CLOUDGEO_S3_ACCESS_KEY": "cloudgeo",
                  "CLOUDGEO_S3_SECRET_KEY": "cloudgeo-secret",
                  "CLOUDGEO_PUBLIC_URL": self.gateway_url,
                  "CLOUDGEO_FILE_SERVICE_URL": "http://files:8800"}
        self.run("redis", "test-redis")
        self.run("s3", "seaweedfs", env={"S3_ACCESS_KEY": common["CLOUDGEO_S3_ACCESS_KEY"],
                                         "S3_SECRET_KEY": common["CLOUDGEO_S3_SECRET_KEY"]})
        self.run("files", "file-service",
                 env={**common, "CLOUDGEO_FILE_ADVERTISE_URL": "http://files:8800"})
        for n in (1, 2):
            self.run(f"node-{n}", "wps-node",
                     env={**common, "CLOUDGEO_WPS_NODE_ID": f"node-{n}",
                          "CLOUDGEO_WPS_ADVERTISE_URL": f"http://node-{n}:8001"})
        # The only port reachable from outside the network, on 127.0.0.1.
        self.run("gateway", "gateway", flags=(f"--publish=127.0.0.1:{self.port}:9000",))

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.health(r) == "healthy" for r in ("node-1", "node-2", "files")):
                try:
                    url = f"{self.gateway_url}/api/wps/processes/native:buffer"
                    answered = {requests.get(url, timeout=5).headers.get("X-CloudGeo-Node")
                                for _ in range(6)}
                    if answered == {"node-1", "node-2"} and self.files_routed():
                        return
                except requests.RequestException:
                    pass
            time.sleep(1)
        logs = {n: self.engine.run("logs", "--tail=30", n, check=False).stderr[-1500:]
                for n in self.names}
        raise AssertionError(f"the container cluster never became ready: {logs}")

    def files_routed(self) -> bool:
        """Whether the gateway reaches the file service: its own JSON 404 for an unknown
        file, not Traefik's 503 (no server in rotation yet) or plain-text 404."""
        answer = requests.get(f"{self.gateway_url}/api/file/retrieve/{'0' * 32}.zip",
                              timeout=5)
        return answer.status_code == 404 and \
            answer.headers.get("Content-Type", "").startswith("application/json")

    def down(self) -> None:
        if self.names:
            self.engine.run("rm", "-f", *self.names, check=False)
        if self.forward_rule:
            subprocess.run(["iptables", "-D", *self.forward_rule], check=False)
        self.engine.run("network", "rm", self.network, check=False)


def allow_bridge_traffic(bridge: str) -> list[str] | None:
    """Where the host forwards bridged traffic through a FORWARD chain that drops by
    default (a host that also runs its own Docker), lets traffic within our bridge pass,
    as Docker does for its own networks; the rule is removed with the network."""
    chain = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True)
    if chain.returncode != 0 or "-P FORWARD DROP" not in chain.stdout:
        return None
    rule = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]
    subprocess.run(["iptables", "-I", *rule], check=True)
    return rule


def test_walkthrough_through_the_gateway_container(engine, tmp_path):
    from cloudgeo.localcluster.walkthrough import run as walkthrough

    cluster = ContainerCluster(engine)
    try:
        cluster.up()
        cluster.wait_ready()
        printed = io.StringIO()
        with redirect_stdout(printed):
            walkthrough(cluster.gateway_url, tmp_path / "walkthrough")
        text = printed.getvalue()
        assert "walkthrough complete" in text, text[-3000:]
        assert "10 buffered features" in text
        assert "answered by node-1" in text or "answered by node-2" in text
        assert cluster.health("gateway") == "healthy"
        # GRASS and the WPS 1.0.0 endpoint work in the image too.
        raster = upload_file(cluster.gateway_url, four_band_geotiff(tmp_path))
        link = f"{cluster.gateway_url}/api/file/retrieve/{raster['name']}.{raster['format']}"
        grass = requests.post(f"{cluster.gateway_url}/api/wps/jobs", timeout=300, json={
            "identifier": "grass7:r.mapcalc.simple",
            "inputs": {"a": {"type": "reference", "href": link}, "expression": "A*2"}})
        assert grass.status_code == 200, grass.text
        doubled = raster_array(download(grass.json()["data"]["output"]["output"], tmp_path))
        assert np.allclose(doubled, raster_array(download(link, tmp_path), 1) * 2)
        capabilities = requests.get(f"{cluster.gateway_url}/api/wps/wps", timeout=120, params={
            "service": "WPS", "request": "GetCapabilities"})
        assert capabilities.status_code == 200 and "grass7:r.mapcalc.simple" in \
            capabilities.text
    finally:
        cluster.down()
