"""CloudGeo's images, built once per test session by a Docker engine of the session's own
(tests/support/docker.py): the container tests run them under Docker, the pods test
loads them into a real node's containerd. No registry can be reached from here.
"""

from __future__ import annotations

import shutil
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
# Test-only: Redis from Debian's package, Consul built from its Go module (the chart's
# defaults are the upstream images).
TEST_IMAGES = {"test-redis": ROOT / "tests/containers/images/redis",
               "test-consul": ROOT / "tests/containers/images/consul"}
# The binaries of the control plane's cache (tests/support/controlplane/build.py) an
# image's Dockerfile copies from its build context.
CACHED_BINARIES = {"test-consul": ["consul"]}


def reference(name: str) -> str:
    return f"cloudgeo/{name}:{TAG}"


@dataclass
class BuiltImages:
    engine: DockerEngine
    seconds: dict[str, float] = field(default_factory=dict)

    def ensure(self, name: str) -> None:
        """Builds a test image that copies cached binaries on first use: the session
        does not wait for their Go build (Consul's, the longest) before a test needs it."""
        if name in self.seconds or name not in TEST_IMAGES:
            return
        context = _with_binaries(TEST_IMAGES[name], CACHED_BINARIES.get(name, []),
                                 self.engine.folder / "contexts" / name)
        self.seconds[name] = self.engine.build(reference(name), context / "Dockerfile",
                                               context)

    def save(self, names: list[str], archive: Path) -> Path:
        """`docker save` of some images into one archive (for `ctr images import`)."""
        for name in names:
            self.ensure(name)
        self.engine.run("save", "-o", str(archive), *(reference(n) for n in names),
                        timeout=900)
        return archive


def build_images(engine: DockerEngine) -> BuiltImages:
    """The base image (debootstrap), then every product image and the test images that
    need no cached binary (the others: BuiltImages.ensure)."""
    started = time.monotonic()
    engine.make_base_image()
    built = BuiltImages(engine, {"debian:bookworm-slim": time.monotonic() - started})
    for name, dockerfile in PRODUCT_IMAGES.items():
        built.seconds[name] = engine.build(reference(name), dockerfile, ROOT)
    for name in TEST_IMAGES:
        if name not in CACHED_BINARIES:
            built.ensure(name)
    return built


def _with_binaries(folder: Path, binaries: list[str], context: Path) -> Path:
    """The image's build context: its folder, plus the cached binaries it copies."""
    if not binaries:
        return folder
    from tests.support.controlplane.build import ensure_built

    cache = ensure_built(binaries)
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(folder, context)
    for name in binaries:
        shutil.copy2(getattr(cache, name), context / name)
    return context
