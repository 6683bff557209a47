"""A throwaway local stack for benchmarks: SeaweedFS, Redis, file service, WPS nodes."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cloudgeo.localcluster.redis_server import RedisServer
from cloudgeo.localcluster.seaweedfs import SeaweedFS
from cloudgeo.localcluster.services import ServiceProcess, file_service, wps_node


@dataclass
class BenchStack:
    root: Path
    seaweed: SeaweedFS
    redis: RedisServer
    files: ServiceProcess
    nodes: list[ServiceProcess] = field(default_factory=list)

    def add_node(self, name: str, **settings: str) -> ServiceProcess:
        node = wps_node(self.root, name, self.seaweed.settings, self.redis.url, self.files.url,
                        self.root / "catalog.json", **settings).start(timeout=180)
        self.nodes.append(node)
        return node


@contextlib.contextmanager
def bench_stack(root: Path) -> Iterator[BenchStack]:
    seaweed = SeaweedFS(root / "seaweedfs").start()
    redis = RedisServer(root / "redis").start()
    files = file_service(root / "file-service", seaweed.settings).start()
    stack = BenchStack(root, seaweed, redis, files)
    subprocess.run([sys.executable, "-m", "cloudgeo.wpsnode.catalog",
                    str(root / "catalog.json"), str(root / "catalog-qgis")],
                   check=True, capture_output=True)
    try:
        yield stack
    finally:
        for node in stack.nodes:
            node.stop()
        files.stop()
        redis.stop()
        seaweed.stop()
