"""Our own services (file service, WPS node) as local processes, for the cluster and tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from cloudgeo.common.managed_processes import ManagedProcess, free_port, health_is, wait_until
from cloudgeo.storage.settings import S3Settings


class ServiceProcess:
    """`python -m <module>` listening on 127.0.0.1:<port>, ready when /health answers 200."""

    def __init__(self, name: str, module: str, state_dir: Path, env: Mapping[str, str],
                 port: int | None = None) -> None:
        self.name = name
        self.module = module
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.env = dict(env)
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0, health_status: int = 200) -> ServiceProcess:
        """Starts it and waits until /health answers `health_status` (503 = up but degraded)."""
        env = {**os.environ, **self.env}
        self.process = ManagedProcess(self.name, [sys.executable, "-m", self.module],
                                      self.state_dir / f"{self.name}.log", env=env).start()
        wait_until(lambda: health_is(f"{self.url}/health", health_status), timeout,
                   f"{self.name} on port {self.port}", self.process, interval=0.2)
        return self

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def file_service(state_dir: Path, s3: S3Settings, port: int | None = None,
                 public_url: str | None = None, **extra: str) -> ServiceProcess:
    """A file service process; `extra` are further CLOUDGEO_FILE_* settings, by suffix."""
    port = port or free_port()
    env = {
        **s3.as_env(),
        "CLOUDGEO_FILE_PORT": str(port),
        "CLOUDGEO_FILE_METRICS_DIR": str(Path(state_dir) / f"metrics-file-{port}"),
        "CLOUDGEO_PUBLIC_URL": public_url or f"http://127.0.0.1:{port}",
        **{f"CLOUDGEO_FILE_{key.upper()}": value for key, value in extra.items()},
    }
    return ServiceProcess(f"file-service-{port}", "cloudgeo.fileservice", state_dir, env, port)


def wps_node_env(state_dir: Path, name: str, port: int, s3: S3Settings, redis_url: str,
                 public_url: str, file_url: str, catalog: Path,
                 **settings: str) -> dict[str, str]:
    """The environment of a WPS node; `settings` are further CLOUDGEO_WPS_* values by suffix."""
    node_dir = Path(state_dir) / name
    return {
        **s3.as_env(),
        "CLOUDGEO_WPS_PORT": str(port),
        "CLOUDGEO_WPS_NODE_ID": name,
        "CLOUDGEO_REDIS_URL": redis_url,
        "CLOUDGEO_PUBLIC_URL": public_url,
        "CLOUDGEO_FILE_SERVICE_URL": file_url,
        "CLOUDGEO_WPS_STATE_DIR": str(node_dir),
        "CLOUDGEO_WPS_CATALOG": str(catalog),
        "CLOUDGEO_WPS_METRICS_DIR": str(node_dir / "metrics"),
        **{f"CLOUDGEO_WPS_{key.upper()}": value for key, value in settings.items()},
    }


def wps_node(state_dir: Path, name: str, s3: S3Settings, redis_url: str, file_url: str,
             catalog: Path, port: int | None = None, **settings: str) -> ServiceProcess:
    """A WPS node process (not started) whose gateway is the file service itself."""
    port = port or free_port()
    env = wps_node_env(state_dir, name, port, s3, redis_url, file_url, file_url, catalog,
                       **settings)
    return ServiceProcess(name, "cloudgeo.wpsnode", state_dir, env, port)
