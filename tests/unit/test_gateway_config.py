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
    # The services' /metrics is for Prometheus inside, not for the public entry point.
    assert wps["rule"] == "PathPrefix(`/api/wps`) && !Path(`/api/wps/metrics`)"
    assert wps["service"] == f"py-wps@{suffix}"
    assert files["rule"] == "PathPrefix(`/api/file`) && !Path(`/api/file/metrics`)"
    assert files["service"] == f"wps-file-storage@{suffix}"
    assert http["middlewares"]["wps-strip-prefix"] == {"stripPrefix": {"prefixes": ["/api/wps"]}}
    assert "wps-strip-prefix" not in files["middlewares"]  # file paths pass unchanged
    assert "retry" in http["middlewares"][files["middlewares"][-1]]
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


def test_identity_header_is_stripped_before_every_route_authenticates():
    for mode, extra in (("none", {}), ("basic", {"htpasswd_file": "/etc/users"}),
                        ("forward", {"forward_auth_url": "http://proxy/oauth2/auth"})):
        http = dynamic_config(GatewaySettings(auth=mode, user_header="X-User", **extra))["http"]
        for router in http["routers"].values():
            assert router["middlewares"][0] == "strip-identity"
            assert ("authenticate" in router["middlewares"]) == (mode != "none")
        assert http["middlewares"]["strip-identity"] == {
            "headers": {"customRequestHeaders": {"X-User": ""}}}
    basic = dynamic_config(GatewaySettings(auth="basic", htpasswd_file="/u"))["http"]
    assert basic["middlewares"]["authenticate"]["basicAuth"]["headerField"] == \
        "X-CloudGeo-User"
    forward = dynamic_config(GatewaySettings(auth="forward", forward_auth_url="http://p/a",
                                             user_header="X-Auth-Request-User"))["http"]
    auth = forward["middlewares"]["authenticate"]["forwardAuth"]
    assert auth["authResponseHeaders"] == ["X-Auth-Request-User"]
    assert auth["trustForwardHeader"] is False
    for bad in (GatewaySettings(auth="basic"), GatewaySettings(auth="forward"),
                GatewaySettings(auth="oidc")):
        with pytest.raises(ValueError):
            dynamic_config(bad)
