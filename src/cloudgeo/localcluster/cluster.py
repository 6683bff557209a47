"""A whole CloudGeo on one machine: Redis, SeaweedFS, file service, Traefik, N WPS nodes.

`up` starts every component detached (own session, own log), waits for each to
be ready, and records pids and ports in <state>/cluster.json; `down` stops what
that file names, and only that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from cloudgeo.common.managed_processes import (
    ManagedProcess,
    free_port,
    port_is_free,
    wait_for_group_exit,
    wait_until,
)
from cloudgeo.common.processes import pid_alive
from cloudgeo.gateway.config import DEFAULT_USER_HEADER, GatewaySettings
from cloudgeo.gateway.files import traefik_binary, write_config
from cloudgeo.localcluster.redis_server import RedisServer
from cloudgeo.localcluster.seaweedfs import SeaweedFS, remove_fixed_sockets
from cloudgeo.localcluster.services import wps_node_env
from cloudgeo.registry.names import FILE_SERVICE, HEALTH_PATH, WPS_SERVICE

STATE_FILE = "cluster.json"


class ClusterError(RuntimeError):
    pass


@dataclass
class ClusterPorts:
    gateway: int = 9000
    gateway_metrics: int = 9091
    file_service: int = 8800
    first_node: int = 8001
    redis: int = 6379
    s3: int = 9100

    @classmethod
    def free(cls, nodes: int) -> ClusterPorts:
        """Ports free on 127.0.0.1 now, one per component and `nodes` in a row for nodes."""
        taken: set[int] = set()
        return cls(gateway=free_port(taken=taken), gateway_metrics=free_port(taken=taken),
                   file_service=free_port(taken=taken),
                   first_node=free_port(taken=taken, offsets=tuple(range(nodes))),
                   redis=free_port(taken=taken), s3=free_port(taken=taken))


@dataclass(frozen=True)
class ClusterAccess:
    """Who may call the cluster: the gateway's authentication and the nodes' job scoping."""
    auth: str = "none"  # none | basic | forward
    htpasswd: str = ""  # basic: an htpasswd file (bcrypt, SHA1 or MD5 entries)
    forward_auth_url: str = ""  # forward: the identity proxy's auth endpoint
    user_header: str = DEFAULT_USER_HEADER
    admins: tuple[str, ...] = ()
    node_settings: tuple[tuple[str, str], ...] = ()  # further CLOUDGEO_WPS_* by suffix
    file_settings: tuple[tuple[str, str], ...] = ()  # further CLOUDGEO_FILE_* by suffix
    # The gateway's per-client limits (GatewaySettings), by name; none by default.
    gateway_limits: tuple[tuple[str, int], ...] = ()

    def gateway_settings(self) -> dict[str, Any]:
        return {"auth": self.auth, "htpasswd_file": self.htpasswd,
                "forward_auth_url": self.forward_auth_url, "user_header": self.user_header,
                **dict(self.gateway_limits)}

    def file_env(self) -> dict[str, str]:
        if self.auth == "none":
            return {}
        return {"CLOUDGEO_FILE_USER_HEADER": self.user_header,
                "CLOUDGEO_FILE_ADMINS": ",".join(self.admins),
                **{f"CLOUDGEO_FILE_{k.upper()}": v for k, v in self.file_settings}}

    def node_env(self) -> dict[str, str]:
        env = {f"CLOUDGEO_WPS_{k.upper()}": v for k, v in self.node_settings}
        if self.auth != "none":
            env["CLOUDGEO_WPS_USER_HEADER"] = self.user_header
            env["CLOUDGEO_WPS_ADMINS"] = ",".join(self.admins)
        return env


@dataclass
class Component:
    name: str
    pid: int
    log: str
    health: str  # URL answering 200 when healthy, or "redis://..." / "s3://..."
    argv: list[str] = field(default_factory=list)  # how to start it again
    env: dict[str, str] = field(default_factory=dict)  # what it adds to the environment


@dataclass
class ClusterState:
    nodes: int
    ports: ClusterPorts
    components: list[Component] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def save(self, folder: Path) -> None:
        (folder / STATE_FILE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, folder: Path) -> ClusterState | None:
        path = folder / STATE_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        return cls(nodes=raw["nodes"], ports=ClusterPorts(**raw["ports"]),
                   components=[Component(**c) for c in raw["components"]],
                   started=raw["started"])


def component_health(component: Component) -> str:
    if not pid_alive(component.pid):
        return "stopped"
    if component.health.startswith("http"):
        try:
            status = requests.get(component.health, timeout=3).status_code
        except requests.RequestException:
            return "unreachable"
        return "healthy" if status == 200 else f"unhealthy (HTTP {status})"
    return "running"


class Cluster:
    def __init__(self, state_dir: Path, report: Callable[[str], None] = print) -> None:
        self.dir = Path(state_dir).resolve()
        self.report = report

    # -- up --------------------------------------------------------------------
    def up(self, nodes: int = 3, ports: ClusterPorts | None = None,
           qgis_workers: int = 2, access: ClusterAccess | None = None) -> ClusterState:
        current = ClusterState.load(self.dir)
        if current and any(pid_alive(c.pid) for c in current.components):
            raise ClusterError(f"a cluster is already running from {self.dir} (gateway "
                               f"{current.gateway_url}); `cloudgeo down` stops it")
        ports = ports or ClusterPorts()
        wanted = {"gateway": ports.gateway, "gateway metrics": ports.gateway_metrics,
                  "file service": ports.file_service, "redis": ports.redis, "S3": ports.s3,
                  **{f"node {i + 1}": ports.first_node + i for i in range(nodes)}}
        busy = [f"{name} ({port})" for name, port in wanted.items() if not port_is_free(port)]
        if busy:
            raise ClusterError("ports already in use: " + ", ".join(busy))
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        state = ClusterState(nodes=nodes, ports=ports)
        try:
            self._start_all(state, qgis_workers, access or ClusterAccess())
        except Exception:
            self.report("start-up failed; stopping what was started")
            self._stop_components(state.components)
            (self.dir / STATE_FILE).unlink(missing_ok=True)
            raise
        return state

    def _step(self, what: str, action: Callable[[], None]) -> None:
        started = time.monotonic()
        self.report(f"  {what} ...")
        action()
        self.report(f"  {what}: ready in {time.monotonic() - started:.1f} s")

    def _start_all(self, state: ClusterState, qgis_workers: int,
                   access: ClusterAccess) -> None:
        ports = state.ports
        logs = self.dir / "logs"

        redis_server = RedisServer(self.dir / "redis", ports.redis)
        self._step(f"Redis on 127.0.0.1:{ports.redis}", redis_server.start)
        self._record(state, "redis", redis_server.process, f"redis://127.0.0.1:{ports.redis}")

        seaweed = SeaweedFS(self.dir / "seaweedfs", ports.s3)
        self._step(f"SeaweedFS S3 on 127.0.0.1:{ports.s3}", seaweed.start)
        self._record(state, "seaweedfs", seaweed.process, f"s3://127.0.0.1:{ports.s3}")

        gateway = state.gateway_url
        common = {**seaweed.settings.as_env(), "CLOUDGEO_REDIS_URL": redis_server.url,
                  "CLOUDGEO_REGISTRY": "redis", "CLOUDGEO_PUBLIC_URL": gateway,
                  "CLOUDGEO_FILE_SERVICE_URL": f"http://127.0.0.1:{ports.file_service}"}

        files_env = {**common, "CLOUDGEO_FILE_PORT": str(ports.file_service),
                     "CLOUDGEO_FILE_METRICS_DIR": str(self.dir / "metrics" / "file-service"),
                     **access.file_env()}
        files = self._service("file-service", "cloudgeo.fileservice", logs, files_env)
        health = f"http://127.0.0.1:{ports.file_service}/health"
        self._step(f"file service on 127.0.0.1:{ports.file_service}",
                   lambda: wait_until(lambda: _ok(health), 60, "file service", files))
        self._record(state, "file-service", files, health, files_env)

        config = write_config(self.dir / "gateway", GatewaySettings(
            port=ports.gateway, metrics_port=ports.gateway_metrics,
            redis_endpoint=f"127.0.0.1:{ports.redis}", **access.gateway_settings()))
        traefik = ManagedProcess("gateway", [traefik_binary(), f"--configFile={config}"],
                                 logs / "gateway.log", cwd=self.dir / "gateway").start()
        ping = f"http://127.0.0.1:{ports.gateway_metrics}/ping"
        self._step(f"gateway (Traefik) on 127.0.0.1:{ports.gateway}",
                   lambda: wait_until(lambda: _ok(ping), 30, "Traefik", traefik))
        self._record(state, "gateway", traefik, ping)

        catalog = self.dir / "catalog.json"
        if not catalog.exists():
            self._step("describing the QGIS algorithms (once)", lambda: subprocess.run(
                [sys.executable, "-m", "cloudgeo.wpsnode.catalog", str(catalog),
                 str(self.dir / "catalog-qgis")], check=True, capture_output=True))
        started = []
        for index in range(state.nodes):
            port = ports.first_node + index
            name = f"wps-node-{index + 1}"
            node_env = {**common, **wps_node_env(
                self.dir / "nodes", name, port, seaweed.settings, redis_server.url, gateway,
                f"http://127.0.0.1:{ports.file_service}", catalog,
                qgis_workers=str(qgis_workers)), **access.node_env()}
            node = self._service(name, "cloudgeo.wpsnode", logs, node_env)
            started.append((name, port, node))
            self._record(state, name, node, f"http://127.0.0.1:{port}/health", node_env)
        for name, port, node in started:
            health = f"http://127.0.0.1:{port}/health"
            self._step(f"{name} on 127.0.0.1:{port} (QGIS workers)",
                       lambda health=health, node=node, name=name: wait_until(
                           lambda: _ok(health), 180, name, node))
        self._step(f"{state.nodes} nodes in the gateway's rotation",
                   lambda: wait_until(lambda: self._in_rotation(state) >= state.nodes, 60,
                                      "gateway rotation", traefik))

    def _service(self, name: str, module: str, logs: Path, env: dict) -> ManagedProcess:
        return ManagedProcess(name, [sys.executable, "-m", module], logs / f"{name}.log",
                              env={**os.environ, **env}).start()

    def _record(self, state: ClusterState, name: str, process: ManagedProcess | None,
                health: str, env: dict[str, str] | None = None) -> None:
        """Notes a started component; with `env` (what it adds) it can be restarted."""
        assert process is not None
        state.components.append(Component(name, process.pid, str(process.log_path), health,
                                          process.argv if env else [], env or {}))
        state.save(self.dir)

    def restart(self, name: str, timeout: float = 180) -> None:
        """Starts a stopped (or crashed) service again, as `up` started it."""
        state = ClusterState.load(self.dir)
        component = next((c for c in state.components if c.name == name), None) \
            if state else None
        if component is None or not component.env:
            raise ClusterError(f"no restartable component {name!r}")
        if pid_alive(component.pid):
            _stop_group(component.pid)
        process = ManagedProcess(name, component.argv, Path(component.log),
                                 env={**os.environ, **component.env}).start()
        component.pid = process.pid
        state.save(self.dir)
        self._step(f"{name} again", lambda: wait_until(lambda: _ok(component.health),
                                                       timeout, name, process))
        service = _gateway_service(name)
        if service:  # the gateway must send it traffic again, not only its /health answer
            server = component.health.removesuffix(HEALTH_PATH)
            self._step(f"{name} in the gateway's rotation", lambda: wait_until(
                lambda: rotation(state, service).get(server) == "UP", 60,
                "gateway rotation", process))

    @staticmethod
    def _in_rotation(state: ClusterState) -> int:
        return sum(1 for status in rotation(state).values() if status == "UP")

    # -- down, status, logs ----------------------------------------------------
    def down(self) -> list[str]:
        state = ClusterState.load(self.dir)
        if state is None:
            return []
        stopped = self._stop_components(state.components)
        (self.dir / STATE_FILE).unlink(missing_ok=True)
        return stopped

    def _stop_components(self, components: list[Component]) -> list[str]:
        """Stops tier by tier, each tier in parallel: nodes, then the gateway and file
        service, then storage, so nothing loses its backend mid-request."""
        tiers = [[c for c in components if c.name.startswith("wps-node")],
                 [c for c in components if c.name in ("gateway", "file-service")],
                 [c for c in components if c.name in ("redis", "seaweedfs")]]
        stopped = []
        for tier in tiers:
            running = [c for c in tier if pid_alive(c.pid)]
            with ThreadPoolExecutor(max(1, len(running))) as pool:
                list(pool.map(lambda c: _stop_group(c.pid), running))
            for component in running:
                stopped.append(component.name)
                self.report(f"  stopped {component.name}")
        remove_fixed_sockets(self.dir / "seaweedfs")
        return stopped

    def status(self) -> dict:
        state = ClusterState.load(self.dir)
        if state is None:
            return {"running": False, "components": {}}
        health = {c.name: component_health(c) for c in state.components}
        return {"running": any(h != "stopped" for h in health.values()),
                "gateway": state.gateway_url, "nodes": state.nodes, "components": health}

    def log_path(self, component: str) -> Path:
        state = ClusterState.load(self.dir)
        names = [c.name for c in state.components] if state else []
        if component not in names:
            raise ClusterError(f"no component {component!r}; components: {', '.join(names)}")
        return Path(next(c.log for c in state.components if c.name == component))


def rotation(state: ClusterState, service: str = WPS_SERVICE) -> dict[str, str]:
    """Server URL -> UP/DOWN for a service, as the gateway sees it now (Traefik's API)."""
    response = requests.get(f"http://127.0.0.1:{state.ports.gateway_metrics}"
                            f"/api/http/services/{service}@redis", timeout=3)
    if response.status_code == 404:  # no server registered at all
        return {}
    response.raise_for_status()
    return response.json().get("serverStatus", {})


def _gateway_service(component: str) -> str | None:
    """The gateway service a component registers in, if it registers in one."""
    if component.startswith("wps-node"):
        return WPS_SERVICE
    return FILE_SERVICE if component == "file-service" else None


def _ok(url: str) -> bool:
    return requests.get(url, timeout=3).status_code == 200


def _stop_group(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM to the component's main process (as Kubernetes does: it drains and stops
    its own children), then SIGKILL to its whole process group if anything lingers."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    wait_for_group_exit(pid)
