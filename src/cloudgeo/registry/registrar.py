"""Self-registration of a service instance: register at start, heartbeat, deregister at exit.

Two backends: Redis keys read by Traefik's Redis provider (the local default; a
key's expiry is the heartbeat, so a crashed instance vanishes), and Consul (as
the seed: an agent service with an HTTP check on /health, removed at exit).
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis

from cloudgeo.common.envsettings import env_name, env_str, read, setting
from cloudgeo.gateway.config import (
    HEALTH_TIMEOUT,
    consul_tags,
    loadbalancer_key,
    server_keys,
    service_keys,
)
from cloudgeo.registry.names import HEALTH_PATH

log = logging.getLogger(__name__)

READY_PROBE_INTERVAL = 0.25
READY_PROBE_TIMEOUT = 2.0


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class RegistrySettings:
    """Where a WPS node or file service registers itself for the gateway to find."""

    backend: str = setting("CLOUDGEO_REGISTRY", "none", choices=("redis", "consul", "none"),
                           doc="where this service registers itself (the gateway reads the "
                               "same): Redis, Consul's catalogue, or nowhere")
    redis_url: str = setting("CLOUDGEO_REGISTRY_REDIS_URL", DEFAULT_REDIS_URL,
                             default_doc="CLOUDGEO_REDIS_URL",
                             doc="the Redis it registers in (registry `redis`)")
    consul_host: str = setting("CLOUDGEO_CONSUL_HOST", "127.0.0.1",
                               doc="Consul agent's host (registry `consul`)")
    consul_port: int = setting("CLOUDGEO_CONSUL_PORT", 8500, minimum=1,
                               doc="Consul agent's HTTP port")
    ttl: int = setting("CLOUDGEO_REGISTRY_TTL", 30, minimum=3,
                       doc="seconds a registration lives unless renewed (every third of it)")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RegistrySettings:
        given = {}
        if not env.get(env_name(cls, "redis_url"), "").strip():
            # Unnamed, it is the job store's Redis (the WPS node's CLOUDGEO_REDIS_URL).
            given["redis_url"] = env_str(env, "CLOUDGEO_REDIS_URL", DEFAULT_REDIS_URL)
        return read(cls, env, **given)


class RedisRegistration:
    def __init__(self, settings: RegistrySettings, service: str, instance_id: str,
                 url: str) -> None:
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self.ttl = settings.ttl
        self.keys = {**service_keys(service), **server_keys(service, instance_id, url)}
        self.servers_pattern = f"{loadbalancer_key(service)}/servers/*"

    def beat(self) -> None:
        pipe = self.client.pipeline()
        for key, value in self.keys.items():
            pipe.set(key, value, ex=self.ttl)
        pipe.execute()

    def remove(self) -> None:
        # Service-level keys stay (until their expiry) for the other instances. The last
        # one out takes them along: a service with a health check and no server answers
        # Traefik's bare "503 no available server" until they expire, while a service
        # that is gone leaves its requests to the gateway's no-server route (a 503 in
        # the caller's API). An instance registering meanwhile writes them again at its
        # next beat (a third of the TTL).
        self.client.delete(*[k for k in self.keys if "/servers/" in k])
        if next(self.client.scan_iter(match=self.servers_pattern, count=1000), None) is None:
            self.client.delete(*self.keys)


class ConsulRegistration:
    def __init__(self, settings: RegistrySettings, service: str, instance_id: str,
                 url: str) -> None:
        import consul

        self.client = consul.Consul(host=settings.consul_host, port=settings.consul_port)
        parts = urlsplit(url)
        self.service, self.instance_id = service, instance_id
        self.address, self.port = parts.hostname, parts.port
        self.check = consul.Check.http(f"{url}{HEALTH_PATH}", interval="10s",
                                       timeout=HEALTH_TIMEOUT, deregister="1m")

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


def answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=READY_PROBE_TIMEOUT) as response:
            return response.status == 200
    except (OSError, ValueError):  # refused, 503 (HTTPError is an OSError), timeout
        return False


class Registrar(threading.Thread):
    """Keeps one instance registered until stopped; registration errors are logged, retried.

    With `ready_url`, the first registration waits until that URL answers 200: the
    gateway sends traffic to a server the moment it is registered, and a node whose
    QGIS workers are still starting would answer it 503."""

    def __init__(self, settings: RegistrySettings, service: str, instance_id: str,
                 url: str, ready_url: str | None = None) -> None:
        super().__init__(daemon=True, name=f"registrar-{instance_id}")
        backends = {"redis": RedisRegistration, "consul": ConsulRegistration}
        self.backend = backends[settings.backend](settings, service, instance_id, url)
        self.interval = max(1.0, settings.ttl / 3)
        self.ready_url = ready_url
        self.stopping = threading.Event()

    def wait_until_ready(self) -> None:
        probes = 0
        while self.ready_url and not self.stopping.is_set() and not answers_ok(self.ready_url):
            if probes % 120 == 0:  # every 30 s
                log.info("not registering yet: %s does not answer 200", self.ready_url)
            probes += 1
            self.stopping.wait(READY_PROBE_INTERVAL)

    def run(self) -> None:
        self.wait_until_ready()
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
                       url: str, ready_url: str | None = None) -> Registrar | None:
    settings = RegistrySettings.from_env(env)
    if settings.backend == "none":
        return None
    registrar = Registrar(settings, service, instance_id, url, ready_url)
    registrar.start()
    return registrar
