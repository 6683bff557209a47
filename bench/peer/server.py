"""py-qgis-wps 1.10.1, the benchmark peer, in a venv of its own (never a product
dependency): installed once into a cache folder outside the repository, started on
127.0.0.1 with the `bufferpeer` plugin as its only provider."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from cloudgeo.common.managed_processes import ManagedProcess, free_port, wait_until

VERSION = "1.10.1"
CACHE = Path(os.environ.get("CLOUDGEO_BENCH_CACHE",
                            Path.home() / ".cache" / "cloudgeo-bench")) / f"py-qgis-wps-{VERSION}"
PLUGINS = Path(__file__).parent  # holds bufferpeer/


def install() -> Path:
    """The peer's venv (Debian's python3 with its QGIS bindings, plus py-qgis-wps)."""
    wpsserver = CACHE / "bin" / "wpsserver"
    if not wpsserver.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(CACHE)],
                       check=True)
        subprocess.run([str(CACHE / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        f"py-qgis-wps=={VERSION}"], check=True)
    return wpsserver


@dataclass(frozen=True)
class PeerServer:
    url: str  # the OWS endpoint, `.../ows/`
    session: int  # the session id of its processes (server and workers)


@contextlib.contextmanager
def peer_server(root: Path, redis_port: int, workers: int = 2) -> Iterator[PeerServer]:
    """Yields the peer once it answers GetCapabilities."""
    wpsserver = install()
    port = free_port()
    workdir = root / "peer-work"
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QGSWPS_SERVER_HTTP_PORT": str(port),
           "QGSWPS_SERVER_INTERFACES": "127.0.0.1",
           "QGSWPS_SERVER_PARALLELPROCESSES": str(workers),
           "QGSWPS_SERVER_PROCESSLIFECYCLE": "0",  # no recycling: QGIS starts once per worker
           "QGSWPS_SERVER_WORKDIR": str(workdir),
           "QGSWPS_PROCESSING_PROVIDERS_MODULE_PATH": str(PLUGINS),
           "QGSWPS_PROCESSING_EXPOSED_PROVIDERS": "",
           "QGSWPS_REDIS_HOST": "127.0.0.1", "QGSWPS_REDIS_PORT": str(redis_port),
           "QGSWPS_REDIS_PREFIX": "pyqgiswps-bench",
           "QGSWPS_LOGLEVEL": "WARNING", "QT_QPA_PLATFORM": "offscreen",
           "HOME": str(root / "peer-home")}
    process = ManagedProcess("py-qgis-wps", [str(wpsserver)], root / "py-qgis-wps.log",
                             env=env).start()
    url = f"http://127.0.0.1:{port}/ows/"
    try:
        wait_until(lambda: _capabilities(url), 120, "py-qgis-wps", process)
        yield PeerServer(url, process.pid)
    finally:
        process.stop()


def _capabilities(url: str) -> bool:
    try:
        response = requests.get(url, params={"SERVICE": "WPS", "REQUEST": "GetCapabilities"},
                                timeout=5)
    except requests.RequestException:
        return False
    return response.status_code == 200 and b"bufferpeer:buffer" in response.content


if __name__ == "__main__":  # a manual look: python -m bench.peer.server
    import tempfile

    from cloudgeo.localcluster.redis_server import RedisServer

    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(Path(tmp) / "redis").start()
        try:
            with peer_server(Path(tmp), redis_server.port) as peer:
                ows = peer.url
                print(ows, file=sys.stderr)
                print(requests.get(ows, params={"SERVICE": "WPS", "REQUEST": "GetCapabilities"},
                                   timeout=5).text[:2000])
        finally:
            redis_server.stop()
