"""A Redis server (Debian's redis-server) on 127.0.0.1, persisted with AOF."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from cloudgeo.common.managed_processes import ManagedProcess, free_port, wait_until
from cloudgeo.registry.names import REGISTRY_NOTIFICATIONS


class RedisServer:
    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.state_dir), "--appendonly", "yes",
                "--save", "", "--daemonize", "no", "--protected-mode", "yes",
                *REGISTRY_NOTIFICATIONS]
        self.process = ManagedProcess("redis", argv, self.state_dir / "redis.log").start()
        client = redis.Redis.from_url(self.url)
        wait_until(client.ping, timeout, f"Redis on port {self.port}", self.process)
        return self

    def stop(self) -> None:
        if self.process:
            self.process.stop()
