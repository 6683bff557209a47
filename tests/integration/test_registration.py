"""Services register themselves: Redis for real; Consul against a double of its HTTP API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from cloudgeo.common.managed_processes import free_port
from cloudgeo.localcluster.services import file_service
from cloudgeo.registry.names import FILE_SERVICE
from cloudgeo.registry.registrar import Registrar, RegistrySettings
from tests.support.httpserver import Routes, serve
from tests.support.waiting import wait_for

SERVER_KEY = "traefik/http/services/wps-file-storage/loadbalancer/servers/{}/url"
HEALTHCHECK_KEY = "traefik/http/services/wps-file-storage/loadbalancer/healthcheck/path"


def registered_service(state_root, seaweed, redis_server, name: str):
    service = file_service(state_root / name, seaweed.settings)
    service.env.update({"CLOUDGEO_REGISTRY": "redis", "CLOUDGEO_REDIS_URL": redis_server.url,
                        "CLOUDGEO_REGISTRY_TTL": "3"})
    return service.start()


def test_redis_registration_lifecycle(state_root, seaweed, redis_server):
    client = redis.Redis.from_url(redis_server.url)
    service = registered_service(state_root, seaweed, redis_server, "reg-a")
    key = SERVER_KEY.format(f"{FILE_SERVICE}-127.0.0.1-{service.port}")
    wait_for(lambda: client.get(key) == service.url.encode(), 10, "registration")
    assert 0 < client.ttl(key) <= 3
    time.sleep(3.5)  # heartbeats keep it alive past one TTL
    assert client.get(key) == service.url.encode()
    assert client.get(HEALTHCHECK_KEY) == b"/health"
    other = registered_service(state_root, seaweed, redis_server, "reg-a2")
    other_key = SERVER_KEY.format(f"{FILE_SERVICE}-127.0.0.1-{other.port}")
    wait_for(lambda: client.get(other_key) is not None, 10, "the second registration")
    service.stop()  # SIGTERM: deregisters on the way out
    assert client.get(key) is None
    # The other instance still needs the service (its health check) ...
    assert client.get(HEALTHCHECK_KEY) == b"/health"
    other.stop()
    # ... the last one out takes it along: no service is left without a server.
    assert client.keys("traefik/http/services/wps-file-storage/*") == []


def test_a_crashed_instance_expires(state_root, seaweed, redis_server):
    client = redis.Redis.from_url(redis_server.url)
    service = registered_service(state_root, seaweed, redis_server, "reg-b")
    key = SERVER_KEY.format(f"{FILE_SERVICE}-127.0.0.1-{service.port}")
    wait_for(lambda: client.get(key) is not None, 10, "registration")
    service.process.kill()  # kill -9: no chance to deregister
    assert client.get(key) is not None
    wait_for(lambda: client.get(key) is None, 5, "the heartbeat to expire")


class ConsulAgentDouble:
    """A stand-in for a Consul agent's HTTP API (no Consul agent can run on these machines):
    records service registrations and deregistrations as the agent would."""

    def __init__(self, port: int = 0) -> None:
        self.services: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                double.calls.append((self.command, self.path))
                if self.path.startswith("/v1/agent/service/register"):
                    body = {k.lower(): v for k, v in body.items()}  # Consul ignores key case
                    double.services[body.get("id") or body["name"]] = body
                elif self.path.startswith("/v1/agent/service/deregister/"):
                    double.services.pop(self.path.rsplit("/", 1)[1].split("?")[0], None)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"true")

            def do_GET(self):
                double.calls.append((self.command, self.path))
                if not self.path.startswith("/v1/agent/services"):
                    self.send_error(404)
                    return
                answer = {sid: {"ID": sid, "Service": s["name"]}
                          for sid, s in double.services.items()}
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def consul_double():
    double = ConsulAgentDouble()
    yield double
    double.close()


def test_consul_registration_against_an_agent_double(consul_double):
    settings = RegistrySettings(backend="consul", consul_host="127.0.0.1",
                                consul_port=consul_double.port, ttl=3)
    registrar = Registrar(settings, "py-wps", "py-wps-127.0.0.1-8001", "http://127.0.0.1:8001")
    registrar.start()
    wait_for(lambda: "py-wps-127.0.0.1-8001" in consul_double.services, 5, "registration")
    consul_double.services.clear()  # the agent restarted and forgot its services
    wait_for(lambda: "py-wps-127.0.0.1-8001" in consul_double.services, 5, "re-registration")
    service = consul_double.services["py-wps-127.0.0.1-8001"]
    assert service["name"] == "py-wps"
    assert service["address"] == "127.0.0.1" and service["port"] == 8001
    (check,) = service["checks"]
    assert check["http"] == "http://127.0.0.1:8001/health"
    assert "traefik.enable=true" in service["tags"]
    registrar.stop()
    assert consul_double.services == {}
    assert consul_double.calls[-1] == ("PUT",
                                       "/v1/agent/service/deregister/py-wps-127.0.0.1-8001")


def test_consul_registration_is_retried_when_the_agent_was_away():
    port = free_port()
    settings = RegistrySettings(backend="consul", consul_host="127.0.0.1", consul_port=port,
                                ttl=3)
    registrar = Registrar(settings, "py-wps", "node-x", "http://127.0.0.1:8009")
    registrar.start()
    time.sleep(0.3)  # the first attempt fails: no agent listens yet
    double = ConsulAgentDouble(port)  # the agent comes (back)
    try:
        wait_for(lambda: "node-x" in double.services, 5, "re-registration")
        registrar.stop()
        assert double.services == {}
    finally:
        double.close()


def test_registration_waits_until_the_instance_answers_ready(redis_server):
    """A node starting its QGIS workers answers /health 503; the gateway must not get it yet."""
    routes = Routes({"/health": (503, {}, b"starting")})
    health = serve(routes)
    client = redis.Redis.from_url(redis_server.url)
    url = f"http://127.0.0.1:{health.server_address[1]}"
    settings = RegistrySettings(backend="redis", redis_url=redis_server.url, ttl=3)
    registrar = Registrar(settings, "ready-wps", "ready-wps-1", url, f"{url}/health")
    key = "traefik/http/services/ready-wps/loadbalancer/servers/ready-wps-1/url"
    registrar.start()
    try:
        time.sleep(1.5)
        assert client.get(key) is None  # probed several times, answered 503 each time
        routes["/health"] = (200, {}, b"ok")
        wait_for(lambda: client.get(key) == url.encode(), 5, "registration once ready")
    finally:
        registrar.stop()
        health.shutdown()
    assert client.get(key) is None
