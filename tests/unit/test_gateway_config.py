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


def test_the_gateway_drops_idle_upstream_connections_before_the_servers_do():
    """A server closing a keep-alive connection as the gateway sends a POST on it loses
    that request (the gateway never sends a POST twice): the gateway must give up an
    idle connection first."""
    from cloudgeo.common.server import KEEPALIVE_SECONDS

    config = static_config(GatewaySettings())
    idle = config["serversTransport"]["forwardingTimeouts"]["idleConnTimeout"]
    assert idle.endswith("s") and 0 < int(idle[:-1]) <= KEEPALIVE_SECONDS - 2


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
    assert http["services"][wps["service"]]["failover"]["service"] == f"py-wps@{suffix}"
    assert files["rule"] == "PathPrefix(`/api/file`) && !Path(`/api/file/metrics`)"
    assert http["services"][files["service"]]["failover"]["service"] == \
        f"wps-file-storage@{suffix}"
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
            public = router["entryPoints"] == ["web"]
            assert ("authenticate" in router["middlewares"]) == (mode != "none" and public)
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


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", "127.0.0.1"), ("", "127.0.0.1"),
                                                 ("0.0.0.0", "127.0.0.1")])
def test_a_lost_request_is_answered_503_by_the_other_service_through_the_internal_entry_point(
        host, loopback):
    http = dynamic_config(GatewaySettings(host=host, metrics_port=9191))["http"]
    routers, middlewares = http["routers"], http["middlewares"]
    for route, answerer in (("wps", "files"), ("files", "wps")):
        chain = routers[route]["middlewares"]
        errors = middlewares[chain[chain.index("strip-identity") + 1]]["errors"]
        # After the identity is settled (an anonymous caller still gets its 401), before
        # the prefix is stripped (the page is chosen by the public path), outside the retry.
        assert chain.index(f"answer-lost-by-{answerer}") < chain.index("retry-on-dead-node")
        # Only Traefik answers 502 (no service of ours does); a node's own 503 and 504 pass.
        assert errors["status"] == ["502"] and errors["statusRewrites"] == {"502": 503}
        assert errors["query"] == f"/answer-lost-by-{answerer}/gateway/unavailable?url={{url}}"
        assert http["services"][errors["service"]]["loadBalancer"]["servers"] == [
            {"url": f"http://{loopback}:9191"}]
        internal = routers[f"lost-answered-by-{answerer}"]
        assert internal["entryPoints"] == ["traefik"]  # the port that is never published
        assert internal["rule"] == f"Path(`/answer-lost-by-{answerer}/gateway/unavailable`)"
        # The other service answers: not the one that may have just died.
        assert internal["service"] == registered(http, "files" if route == "wps" else "wps")
        assert "retry-on-dead-node" in internal["middlewares"]
        strip = middlewares[internal["middlewares"][1]]["stripPrefix"]["prefixes"]
        assert strip == [f"/answer-lost-by-{answerer}"]
    assert routers["wps"]["middlewares"].index("answer-lost-by-files") < \
        routers["wps"]["middlewares"].index("wps-strip-prefix")


def registered(http: dict, route: str) -> str:
    """The registry's service behind a public route."""
    return http["services"][http["routers"][route]["service"]]["failover"]["service"]


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", "127.0.0.1"), ("", "127.0.0.1"),
                                                 ("0.0.0.0", "127.0.0.1")])
def test_a_request_no_server_can_take_is_answered_503_by_the_other_service(host, loopback):
    http = dynamic_config(GatewaySettings(host=host, metrics_port=9191, auth="basic",
                                          htpasswd_file="/u"))["http"]
    routers, middlewares, services = http["routers"], http["middlewares"], http["services"]
    for route, answerer, prefix in (("wps", "files", "/api/wps"), ("files", "wps", "")):
        public = routers[route]
        # Every server down (health check): the failover service sends to the fallback,
        # which reaches the internal entry point with the caller's public path.
        fallback = services[public["service"]]["failover"]["fallback"]
        assert services[fallback]["loadBalancer"]["servers"] == [
            {"url": f"http://{loopback}:9191/no-server-answered-by-{answerer}{prefix}",
             "preservePath": True}]
        # The service gone from the registry: a router of the lowest priority with the
        # same rule and the same authentication (anonymous callers still get 401).
        spare = routers[f"{route}-no-server"]
        assert spare["rule"] == public["rule"] and spare["priority"] == 1
        assert spare["entryPoints"] == ["web"] and spare["service"] == fallback
        assert spare["middlewares"][:2] == ["strip-identity", "authenticate"]
        assert [m for m in spare["middlewares"] if "strip-prefix" in m] == \
            [m for m in public["middlewares"] if "strip-prefix" in m]
        internal = routers[f"no-server-answered-by-{answerer}"]
        assert internal["entryPoints"] == ["traefik"]
        assert internal["rule"] == f"PathPrefix(`/no-server-answered-by-{answerer}/`)"
        assert internal["service"] == registered(http, "files" if route == "wps" else "wps")
        chain = internal["middlewares"]
        assert middlewares[chain[1]]["stripPrefix"]["prefixes"] == [
            f"/no-server-answered-by-{answerer}"]
        # The page is chosen from X-Replaced-Path, which replacePath adds once the
        # caller's own is gone.
        assert middlewares[chain[2]] == {"headers": {"customRequestHeaders": {
            "X-Replaced-Path": ""}}}
        assert middlewares[chain[3]] == {"replacePath": {"path": "/gateway/no-server"}}
        assert "retry-on-dead-node" in chain


def test_per_client_limits_come_first_on_every_public_route():
    settings = GatewaySettings(auth="basic", htpasswd_file="/users", rate_limit_average=5,
                               rate_limit_burst=2, in_flight_per_client=3)
    http = dynamic_config(settings)["http"]
    assert http["middlewares"]["rate-limit"] == {"rateLimit": {
        "average": 5, "period": "1s", "burst": 5}}  # never a burst below the average
    assert http["middlewares"]["in-flight-limit"] == {"inFlightReq": {"amount": 3}}
    public = [router for router in http["routers"].values() if router["entryPoints"] == ["web"]]
    assert len(public) == 4  # wps, files and their no-server routes
    for router in public:
        assert router["middlewares"][:4] == ["rate-limit", "in-flight-limit",
                                             "strip-identity", "authenticate"]


def test_no_limits_by_default():
    http = dynamic_config(GatewaySettings())["http"]
    assert "rate-limit" not in http["middlewares"]
    assert "in-flight-limit" not in http["middlewares"]
    assert http["routers"]["wps"]["middlewares"][0] == "strip-identity"
