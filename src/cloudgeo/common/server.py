"""HTTP serving settings and a gunicorn launcher shared by every Flask service."""

from __future__ import annotations

# werkzeug encodes host names with the "idna" codec on first use; a codec looked up
# lazily under load once failed in a worker ("unknown encoding: idna") and then failed
# every request it served. Loaded here, before any worker serves.
import encodings.idna  # noqa: F401
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudgeo.common.envsettings import env_float, env_int, env_str
from cloudgeo.common.recycling import DEFAULT_LIMIT
from cloudgeo.registry.names import HEALTH_PATH

# How long an idle keep-alive connection from the gateway stays open. The gateway drops
# its idle connections sooner (cloudgeo.gateway.config.UPSTREAM_IDLE_SECONDS): a server
# that closed one just as the gateway sent a POST on it would lose that request, which
# the gateway never sends twice.
KEEPALIVE_SECONDS = 5


@dataclass(frozen=True)
class ServerSettings:
    """`<PREFIX>_HOST`, `_PORT`, `_WORKERS`, `_THREADS`, `_METRICS_DIR`, `_TIMEOUT`,
    `_ADVERTISE_URL` (default http://HOST:PORT), `_DRAIN_SECONDS` and
    `_RECYCLE_AFTER_ERRORS` (5: a worker process replaced after that many unexpected
    failures in a row) of one service."""

    host: str
    port: int
    workers: int
    threads: int
    metrics_dir: str
    timeout: int = 120
    advertise_url: str = ""  # how the gateway reaches this instance
    drain_seconds: float = 3.0  # after SIGTERM: unregistered and unhealthy, still serving
    recycle_after_errors: int = DEFAULT_LIMIT

    @property
    def drain_flag(self) -> Path:
        """Exists while the instance drains; its /health then answers 503."""
        return Path(self.metrics_dir) / "draining"

    def draining(self) -> bool:
        return self.drain_flag.exists()

    @property
    def url(self) -> str:
        return self.advertise_url or f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str], prefix: str, *, port: int,
                 workers: int = 2, threads: int = 8) -> ServerSettings:
        port = env_int(env, f"{prefix}_PORT", port, minimum=1)
        default_metrics = str(
            Path(tempfile.gettempdir()) / f"cloudgeo-metrics-{prefix.lower()}-{port}")
        return cls(
            host=env_str(env, f"{prefix}_HOST", "127.0.0.1"),
            port=port,
            workers=env_int(env, f"{prefix}_WORKERS", workers, minimum=1),
            threads=env_int(env, f"{prefix}_THREADS", threads, minimum=1),
            metrics_dir=env_str(env, f"{prefix}_METRICS_DIR", default_metrics),
            timeout=env_int(env, f"{prefix}_TIMEOUT", cls.timeout, minimum=1),
            advertise_url=env_str(env, f"{prefix}_ADVERTISE_URL", "").rstrip("/"),
            drain_seconds=env_float(env, f"{prefix}_DRAIN_SECONDS", cls.drain_seconds),
            recycle_after_errors=env_int(env, f"{prefix}_RECYCLE_AFTER_ERRORS",
                                         cls.recycle_after_errors, minimum=1),
        )

    @property
    def local_url(self) -> str:
        """How this machine reaches the instance (a wildcard bind listens on loopback too)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def bind(self) -> str:
        return f"{self.host}:{self.port}"


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def return_large_buffers_to_the_os(threshold: int = 1024 * 1024) -> None:
    """Makes glibc mmap every allocation above `threshold` and unmap it on free.

    By default glibc raises its mmap threshold each time a large block is freed,
    after which multi-MiB transfer buffers come from the heap arenas of each
    thread and stay resident: measured here, a 1 GiB upload grew a worker by
    82 MiB that way against 44 MiB with a fixed 1 MiB threshold.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, threshold)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def serve(app_factory: Callable[[], Any], server: ServerSettings,
          extra_options: Mapping[str, Any] | None = None, reset_metrics: bool = True,
          registration: tuple[str, str] | None = None) -> None:
    """Runs app_factory's WSGI app under gunicorn (threaded workers) until signalled.

    reset_metrics=False when the caller already prepared the metrics directory and
    started other processes that write to it. registration=(service, instance id)
    registers the instance once it listens and deregisters it when gunicorn exits.
    """
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    from cloudgeo.common.metrics import mark_worker_dead, reset_multiprocess_dir

    if reset_metrics:
        reset_multiprocess_dir(server.metrics_dir)
    return_large_buffers_to_the_os()

    def child_exit(_arbiter, worker) -> None:
        mark_worker_dead(worker.pid)

    registrars = []

    def when_ready(_arbiter) -> None:
        if registration:
            import os

            from cloudgeo.registry.registrar import start_registration

            registrar = start_registration(os.environ, *registration, server.url,
                                           f"{server.local_url}{HEALTH_PATH}")
            if registrar:
                registrars.append(registrar)

    def on_exit(_arbiter) -> None:
        for registrar in registrars:
            registrar.stop()
        server.drain_flag.unlink(missing_ok=True)

    def drain() -> None:
        """SIGTERM: leave the registry and fail /health first, keep answering while the
        gateway notices (its health check runs every second), then stop: requests on
        the gateway's open connections are served instead of reset."""
        for registrar in registrars:
            registrar.stop()
        registrars.clear()
        server.drain_flag.touch()
        time.sleep(server.drain_seconds)

    options = {
        "bind": server.bind,
        "workers": server.workers,
        "worker_class": "gthread",
        "threads": server.threads,
        # Uploads of 1 GiB take longer than gunicorn's 30 s default; gthread
        # workers heartbeat from their main loop, so this bounds only hangs.
        "timeout": server.timeout,
        "graceful_timeout": 10,
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": None,
        # gunicorn's control socket sits at one path per user: several servers
        # on one machine would fight over it, and nothing of ours uses it.
        "control_socket_disable": True,
        "child_exit": child_exit,
        "when_ready": when_ready,
        "on_exit": on_exit,
        **(extra_options or {}),
    }

    class DrainingArbiter(Arbiter):
        def handle_term(self) -> None:
            drain()
            super().handle_term()

    class _Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app_factory()

        def run(self) -> None:
            DrainingArbiter(self).run()

    server.drain_flag.unlink(missing_ok=True)
    _Application().run()
