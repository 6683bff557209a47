"""CloudGeo's images, built once per test session by a Docker engine of the session's own
(tests/support/docker.py): the container tests run them under Docker, the pods test
loads them into a real node's containerd. No registry can be reached from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.docker import DockerEngine

ROOT = Path(__file__).resolve().parents[2]
TAG = "0.1.0"
PRODUCT_IMAGES = {"wps-node": ROOT / "images/wps-node/Dockerfile",
                  "file-service": ROOT / "images/file-service/Dockerfile",
                  "gateway": ROOT / "images/gateway/Dockerfile",
                  "seaweedfs": ROOT / "images/seaweedfs/Dockerfile",
                  "operator": ROOT / "operator/Dockerfile"}
# Test-only: Redis from Debian's package (the chart's default is the upstream image).
TEST_IMAGES = {"test-redis": ROOT / "tests/containers/images/redis"}


def reference(name: str) -> str:
    return f"cloudgeo/{name}:{TAG}"


@dataclass
class BuiltImages:
    engine: DockerEngine
    seconds: dict[str, float] = field(default_factory=dict)

    def save(self, names: list[str], archive: Path) -> Path:
        """`docker save` of some images into one archive (for `ctr images import`)."""
        self.engine.run("save", "-o", str(archive), *(reference(n) for n in names),
                        timeout=900)
        return archive


def build_images(engine: DockerEngine) -> BuiltImages:
    """The base image (debootstrap), then every product and test image."""
    started = time.monotonic()
    engine.make_base_image()
    built = BuiltImages(engine, {"debian:bookworm-slim": time.monotonic() - started})
    for name, dockerfile in PRODUCT_IMAGES.items():
        built.seconds[name] = engine.build(reference(name), dockerfile, ROOT)
    for name, folder in TEST_IMAGES.items():
        built.seconds[name] = engine.build(reference(name), folder / "Dockerfile", folder)
    return built
