"""Self-registration of a service instance: register at start, heartbeat, deregister at exit.

Two backends: Redis keys read by Traefik's Redis provider (the local default; a
key's expiry is the heartbeat, so a crashed instance vanishes), and Consul (as
the seed: an agent service with an HTTP check on /health, removed at exit).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis

from cloudgeo.common.envsettings import env_int, env_str
from cloudgeo.gateway.config import consul_tags, server_keys, service_keys
from cloudgeo.registry.names import HEALTH_PATH

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistrySettings:
    """CLOUDGEO_REGISTRY (redis|consul|none, default none), CLOUDGEO_REGISTRY_REDIS_URL
    (default CLOUDGEO_REDIS_URL), CLOUDGEO_CONSUL_HOST/PORT (127.0.0.1/8500),
    CLOUDGEO_REGISTRY_TTL (30 s; heartbeat every third of it)."""

    backend: str = "none"
    redis_url: str = "redis://127.0.0.1:6379/0"
    consul_host: str = "127.0.0.1"
    consul_port: int = 8500
    ttl: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RegistrySettings:
        redis_url = env_str(env, "CLOUDGEO_REDIS_URL", cls.redis_url)
        return cls(
            backend=env_str(env, "CLOUDGEO_REGISTRY", cls.backend),
            redis_url=env_str(env, "CLOUDGEO_REGISTRY_REDIS_URL", redis_url),
            consul_host=env_str(env, "CLOUDGEO_CONSUL_HOST", cls.consul_host),
            consul_port=env_int(env, "CLOUDGEO_CONSUL_PORT", cls.consul_port, minimum=1),
            ttl=env_int(env, "CLOUDGEO_REGISTRY_TTL", cls.ttl, minimum=3),
        )


class RedisRegistration:
    def __init__(self, settings: RegistrySettings, service: str, instance_id: str,
                 url: str) -> None:
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self.ttl = settings.ttl
        self.keys = {**service_keys(service), **server_keys(service, instance_id, url)}

    def beat(self) -> None:
        pipe = self.client.pipeline()
        for key, value in self.keys.items():
            pipe.set(key, value, ex=self.ttl)
        pipe.execute()

    def remove(self) -> None:
        # Service-level keys stay (until their expiry) for the other instances.
        self.client.delete(*[k for k in self.keys if "/servers/" in k])


class ConsulRegistration:
    def __init__(self, settings: RegistrySettings, service: str, instance_id: str,
                 url: str) -> None:
        import consul

        self.client = consul.Consul(host=settings.consul_host, port=settings.consul_port)
        parts = urlsplit(url)
        self.service, self.instance_id = service, instance_id
        self.address, self.port = parts.hostname, parts.port
        self.check = consul.Check.http(f"{url}{HEALTH_PATH}", interval="10s", timeout="1s",
                                       deregister="1m")

    def beat(self) -> None:
        # The agent health-checks the instance itself, so a registration needs no
        # refreshing; but an agent that restarted without its data (an emptyDir in
        # Kubernetes) has forgotten it, so ask, and register again when it is missing.
        if self.instance_id not in self.client.agent.services():
            self.client.agent.service.register(
                self.service, service_id=self.instance_id, address=self.address,
                port=self.port, tags=consul_tags(self.service), check=self.check)

    def remove(self) -> None:
        self.client.agent.service.deregister(self.instance_id)


class Registrar(threading.Thread):
    """Keeps one instance registered until stopped; registration errors are logged, retried."""

    def __init__(self, settings: RegistrySettings, service: str, instance_id: str,
                 url: str) -> None:
        super().__init__(daemon=True, name=f"registrar-{instance_id}")
        backends = {"redis": RedisRegistration, "consul": ConsulRegistration}
        self.backend = backends[settings.backend](settings, service, instance_id, url)
        self.interval = max(1.0, settings.ttl / 3)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.backend.beat()
            except Exception as exc:
                log.warning("registration heartbeat failed: %s", exc)
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        try:
            self.backend.remove()
        except Exception as exc:
            log.warning("deregistration failed: %s", exc)


def start_registration(env: Mapping[str, str], service: str, instance_id: str,
                       url: str) -> Registrar | None:
    settings = RegistrySettings.from_env(env)
    if settings.backend == "none":
        return None
    registrar = Registrar(settings, service, instance_id, url)
    registrar.start()
    return registrar
