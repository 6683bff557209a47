"""Traefik configuration rendered from settings, checked without Traefik."""

from __future__ import annotations

import pytest

from cloudgeo.gateway.config import (
    GatewaySettings,
    consul_tags,
    dynamic_config,
    server_keys,
    service_keys,
    static_config,
)


def test_static_config_binds_loopback_and_streams():
    config = static_config(GatewaySettings(port=9000, metrics_port=9091,
                                           redis_endpoint="127.0.0.1:6380"))
    assert config["global"] == {"checkNewVersion": False, "sendAnonymousUsage": False}
    web = config["entryPoints"]["web"]
    assert web["address"] == "127.0.0.1:9000"
    assert web["transport"]["respondingTimeouts"]["readTimeout"] == "0s"
    assert config["entryPoints"]["traefik"]["address"] == "127.0.0.1:9091"
    assert config["metrics"]["prometheus"]["entryPoint"] == "traefik"
    assert config["api"] == {"insecure": True, "dashboard": False}
    assert config["providers"]["redis"]["endpoints"] == ["127.0.0.1:6380"]
    assert "consulCatalog" not in config["providers"]


def test_static_config_for_consul():
    config = static_config(GatewaySettings(registry="consul", consul_endpoint="consul:8500"))
    assert config["providers"]["consulCatalog"]["endpoint"]["address"] == "consul:8500"
    assert "redis" not in config["providers"]
    with pytest.raises(ValueError, match="registry"):
        static_config(GatewaySettings(registry="etcd"))


@pytest.mark.parametrize(("registry", "suffix"), [("redis", "redis"),
                                                   ("consul", "consulcatalog")])
def test_routes_are_the_seeds(registry, suffix):
    http = dynamic_config(GatewaySettings(registry=registry))["http"]
    wps, files = http["routers"]["wps"], http["routers"]["files"]
    assert wps["rule"] == "PathPrefix(`/api/wps`)" and wps["service"] == f"py-wps@{suffix}"
    assert files["rule"] == "PathPrefix(`/api/file`)"
    assert files["service"] == f"wps-file-storage@{suffix}"
    assert http["middlewares"]["wps-strip-prefix"] == {"stripPrefix": {"prefixes": ["/api/wps"]}}
    assert "wps-strip-prefix" not in files["middlewares"]  # file paths pass unchanged
    assert all("retry" in http["middlewares"][m] for m in files["middlewares"])
    # Nothing that buffers bodies: 1 GiB uploads stream through.
    assert not any("buffering" in m for m in http["middlewares"].values())


def test_registration_keys():
    assert server_keys("py-wps", "wps-node-1", "http://127.0.0.1:8001") == {
        "traefik/http/services/py-wps/loadbalancer/servers/wps-node-1/url":
            "http://127.0.0.1:8001"}
    keys = service_keys("py-wps")
    assert keys["traefik/http/services/py-wps/loadbalancer/healthcheck/path"] == "/health"
    assert keys["traefik/http/services/py-wps/loadbalancer/healthcheck/interval"] == "1s"
    assert "traefik.http.services.py-wps.loadbalancer.healthcheck.path=/health" in \
        consul_tags("py-wps")
