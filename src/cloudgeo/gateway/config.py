"""Traefik v3 configuration, rendered from settings: pure functions, no I/O.

Static configuration: entry points (the gateway; metrics, ping and the read-only
API on an internal port of their own),
providers (Redis or Consul Catalog for the registered servers, a file for the
routes), Prometheus metrics, ping. Dynamic configuration (the file provider):
the seed's routes `/api/wps/**` (prefix stripped) and `/api/file/**`, a retry
middleware, and no buffering middleware, so bodies stream. The servers behind
each route come from the registry. A request lost to a dead server, or one no
server is up for, gets a 503 in its API's error shape (see gateway_answers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import yaml

from cloudgeo.registry.names import (
    FILE_SERVICE,
    HEALTH_PATH,
    NO_SERVER_PATH,
    UNAVAILABLE_PATH,
    WPS_SERVICE,
)

REDIS_ROOT_KEY = "traefik"
AUTH_MODES = ("none", "basic", "forward")
DEFAULT_USER_HEADER = "X-CloudGeo-User"


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 9000
    metrics_port: int = 9091
    registry: str = "redis"  # or "consul"
    redis_endpoint: str = "127.0.0.1:6379"
    redis_db: int = 0
    redis_password: str = ""
    consul_endpoint: str = "127.0.0.1:8500"
    dynamic_file: str = "dynamic.yaml"
    retry_attempts: int = 3
    log_level: str = "INFO"
    access_log: bool = False
    # Authentication at the public entry point: "none", "basic" (htpasswd file) or
    # "forward" (Traefik ForwardAuth to an identity proxy such as oauth2-proxy).
    auth: str = "none"
    htpasswd_file: str = ""
    forward_auth_url: str = ""
    # The header that carries the authenticated user id to the services: removed from
    # every client request, then set by the authentication middleware.
    user_header: str = DEFAULT_USER_HEADER
    # Per client address (0: off): requests a second on average, the burst above it
    # (Traefik's rateLimit: 429 with Retry-After), and requests in flight at once
    # (inFlightReq: 429). Off for the local cluster, where every client is 127.0.0.1.
    rate_limit_average: int = 0
    rate_limit_burst: int = 0
    in_flight_per_client: int = 0


# Idle connections to a node or the file service are closed after this, before the
# server's own keep-alive ends (cloudgeo.common.server.KEEPALIVE_SECONDS, 5 s): Traefik
# kept them 90 s by default, so a POST sent on a connection the server was closing at
# that moment was lost (Traefik never sends a POST twice; seen in bench.load).
UPSTREAM_IDLE_SECONDS = 3


def provider_suffix(settings: GatewaySettings) -> str:
    return "redis" if settings.registry == "redis" else "consulcatalog"


def static_config(settings: GatewaySettings) -> dict[str, Any]:
    providers: dict[str, Any] = {"file": {"filename": settings.dynamic_file, "watch": True}}
    if settings.registry == "redis":
        providers["redis"] = {"endpoints": [settings.redis_endpoint], "rootKey": REDIS_ROOT_KEY,
                              "db": settings.redis_db}
        if settings.redis_password:
            providers["redis"]["password"] = settings.redis_password
    elif settings.registry == "consul":
        providers["consulCatalog"] = {
            "endpoint": {"address": settings.consul_endpoint},
            "exposedByDefault": False,
            "refreshInterval": "2s",
        }
    else:
        raise ValueError(f"registry must be 'redis' or 'consul', not {settings.registry!r}")
    config: dict[str, Any] = {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {
            "web": {
                "address": f"{settings.host}:{settings.port}",
                # Uploads of 1 GiB take minutes on slow links: no read deadline.
                "transport": {"respondingTimeouts": {"readTimeout": "0s", "writeTimeout": "0s",
                                                     "idleTimeout": "180s"}},
            },
            # Internal: Prometheus metrics, /ping and the read-only API (which servers
            # are in rotation), never routed to the outside.
            "traefik": {"address": f"{settings.host}:{settings.metrics_port}"},
        },
        "providers": providers,
        "serversTransport": {"forwardingTimeouts": {
            "idleConnTimeout": f"{UPSTREAM_IDLE_SECONDS}s"}},
        "api": {"insecure": True, "dashboard": False},
        "metrics": {"prometheus": {"entryPoint": "traefik", "addServicesLabels": True,
                                   "addRoutersLabels": True, "addEntryPointsLabels": True}},
        "ping": {"entryPoint": "traefik"},
        "log": {"level": settings.log_level},
    }
    if settings.access_log:
        config["accessLog"] = {}
    return config


def auth_middlewares(settings: GatewaySettings) -> dict[str, Any]:
    """The identity middlewares, in the order they run: strip, then authenticate."""
    # An empty value removes the header: no client names itself.
    middlewares: dict[str, Any] = {"strip-identity": {"headers": {
        "customRequestHeaders": {settings.user_header: ""}}}}
    if settings.auth == "basic":
        if not settings.htpasswd_file:
            raise ValueError("basic authentication needs an htpasswd file")
        middlewares["authenticate"] = {"basicAuth": {
            "usersFile": settings.htpasswd_file, "headerField": settings.user_header,
            "removeHeader": True, "realm": "CloudGeo"}}
    elif settings.auth == "forward":
        if not settings.forward_auth_url:
            raise ValueError("forward authentication needs the identity proxy's URL")
        middlewares["authenticate"] = {"forwardAuth": {
            "address": settings.forward_auth_url, "trustForwardHeader": False,
            "authResponseHeaders": [settings.user_header]}}
    elif settings.auth != "none":
        raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {settings.auth!r}")
    return middlewares


def limit_middlewares(settings: GatewaySettings) -> dict[str, Any]:
    """The per-client limits, first on every public route: a flood is turned away before
    it costs an authentication or a service anything."""
    middlewares: dict[str, Any] = {}
    if settings.rate_limit_average > 0:
        middlewares["rate-limit"] = {"rateLimit": {
            "average": settings.rate_limit_average, "period": "1s",
            "burst": max(settings.rate_limit_burst, settings.rate_limit_average)}}
    if settings.in_flight_per_client > 0:
        middlewares["in-flight-limit"] = {"inFlightReq": {
            "amount": settings.in_flight_per_client}}
    return middlewares


def loopback_url(settings: GatewaySettings, port: int) -> str:
    """How the gateway reaches one of its own entry points."""
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{port}"


def dynamic_config(settings: GatewaySettings) -> dict[str, Any]:
    """Routes and middlewares; services are `<name>@<registry provider>`.

    The services' /metrics is not routed (Prometheus scrapes each pod or process
    directly); their /health is, for callers who want to see the service is up."""
    provider = provider_suffix(settings)
    front_middlewares = {**limit_middlewares(settings), **auth_middlewares(settings)}
    # Limits first, then identity, on every public route.
    front = list(front_middlewares)
    internal = loopback_url(settings, settings.metrics_port)
    registered = {"wps": f"{WPS_SERVICE}@{provider}", "files": f"{FILE_SERVICE}@{provider}"}
    # Each public route's 503s are written by the other route's service.
    wps = public_route("wps", "PathPrefix(`/api/wps`) && !Path(`/api/wps/metrics`)",
                       registered["wps"], front, answerer="files", internal=internal,
                       strip="/api/wps")
    files = public_route("files", "PathPrefix(`/api/file`) && !Path(`/api/file/metrics`)",
                         registered["files"], front, answerer="wps", internal=internal)
    shared = {"routers": {}, "services": {
        "gateway-internal": {"loadBalancer": {"servers": [{"url": internal}]}}},
        "middlewares": {
            **front_middlewares,
            # Reissues a request whose server could not be reached (connection
            # refused or reset before any answer), on another server.
            "retry-on-dead-node": {"retry": {"attempts": settings.retry_attempts,
                                             "initialInterval": "50ms"}}}}
    answers = gateway_answers(registered)
    return {"http": {part: {k: v for each in (wps, files, shared, answers)
                            for k, v in each[part].items()}
                     for part in ("routers", "middlewares", "services")}}


def public_route(name: str, rule: str, service: str, front: list[str], answerer: str,
                 internal: str, strip: str = "") -> dict[str, dict[str, Any]]:
    """A public route to a registered service (`strip`: a prefix the service does not
    see), and its two ways to a 503 in the caller's API written by `answerer` (see
    below): routers, middlewares and services."""
    stripping = {f"{name}-strip-prefix": {"stripPrefix": {"prefixes": [strip]}}} if strip else {}
    no_server = f"{name}-no-server"
    return {"middlewares": stripping, "routers": {
        name: {"rule": rule, "entryPoints": ["web"], "service": f"{name}-or-no-server",
               "middlewares": [*front, answer_lost_by(answerer), *stripping,
                               "retry-on-dead-node"]},
        # Once the service has left the registry (every server gone for a TTL), the
        # route above has no service and Traefik drops it: this one takes its requests.
        no_server: {"rule": rule, "priority": 1, "entryPoints": ["web"], "service": no_server,
                    "middlewares": [*front, *stripping]},
    }, "services": {
        # Every server registered but down (evicted by the health check): the fallback.
        f"{name}-or-no-server": {"failover": {"service": service, "fallback": no_server}},
        # preservePath: the caller's (stripped) path follows this prefix, so the
        # answerer sees the public path again.
        no_server: {"loadBalancer": {"servers": [
            {"url": f"{internal}/{no_server_answered_by(answerer)}{strip}",
             "preservePath": True}]}},
    }}


# A request in flight on a server that dies (kill -9, out of memory, a lost machine)
# fails with Traefik's own 502, which the retry middleware never resends: the server
# may have acted on it. No service of ours answers 502, so an errors middleware turns
# every 502 into a 503 with Retry-After in the caller's API (the seed's envelope,
# RFC 7807, a WPS ExceptionReport). A request for a service with no server up gets the
# same shape, saying nothing was done. The *other* service writes these answers: a
# node that just died may still be picked for a moment (a pooled connection is
# written before it fails, and then Traefik may not retry), the other service has not
# died with it. The gateway asks through its internal entry point, which is never
# published, so the page request passes a router with its own retry.
def answer_lost_by(answerer: str) -> str:
    """The errors middleware whose lost-request answers come from `answerer`."""
    return f"answer-lost-by-{answerer}"


def no_server_answered_by(answerer: str) -> str:
    """The internal route whose no-server answers come from `answerer`."""
    return f"no-server-answered-by-{answerer}"


def gateway_answers(answerers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """For each answering service (name -> Traefik service): the internal routers the
    gateway asks for a lost request's page and for a no-server page, and their
    middlewares (the errors middleware is a public router's)."""
    routers: dict[str, Any] = {}
    middlewares: dict[str, Any] = {
        # X-Replaced-Path names the caller's path to the page. replacePath adds it to
        # what the caller sent, so the caller's goes first (an empty value removes).
        "strip-replaced-path": {"headers": {"customRequestHeaders": {"X-Replaced-Path": ""}}},
        "to-no-server-page": {"replacePath": {"path": NO_SERVER_PATH}}}
    for answerer, service in answerers.items():
        lost, no_server = f"/{answer_lost_by(answerer)}", f"/{no_server_answered_by(answerer)}"
        middlewares[answer_lost_by(answerer)] = {"errors": {
            "status": ["502"], "statusRewrites": {"502": 503}, "service": "gateway-internal",
            "query": f"{lost}{UNAVAILABLE_PATH}?url={{url}}"}}
        for prefix in (lost, no_server):
            middlewares[f"strip{prefix}"] = {"stripPrefix": {"prefixes": [prefix]}}
        # Anonymous: the pages name no one and tell nothing.
        routers[f"lost-answered-by-{answerer}"] = {
            "rule": f"Path(`{lost}{UNAVAILABLE_PATH}`)", "entryPoints": ["traefik"],
            "service": service,
            "middlewares": ["strip-identity", f"strip{lost}", "retry-on-dead-node"]}
        routers[no_server_answered_by(answerer)] = {
            "rule": f"PathPrefix(`{no_server}/`)", "entryPoints": ["traefik"],
            "service": service,
            "middlewares": ["strip-identity", f"strip{no_server}", "strip-replaced-path",
                            "to-no-server-page", "retry-on-dead-node"]}
    return {"routers": routers, "middlewares": middlewares, "services": {}}


def loadbalancer_key(service: str) -> str:
    """The Traefik Redis-provider key prefix of a service's load balancer."""
    return f"{REDIS_ROOT_KEY}/http/services/{service}/loadbalancer"


def server_keys(service: str, server_id: str, url: str) -> dict[str, str]:
    """Traefik Redis-provider keys announcing one server of a service."""
    return {f"{loadbalancer_key(service)}/servers/{server_id}/url": url}


# A single failed check takes a server out of rotation (Traefik has no failure
# threshold), and under a burst a node's /health waits behind busy request threads:
# a 1 s timeout evicted the only node mid-burst and every caller got 503.
HEALTH_INTERVAL, HEALTH_TIMEOUT = "1s", "3s"


def service_keys(service: str, health_interval: str = HEALTH_INTERVAL,
                 health_timeout: str = HEALTH_TIMEOUT) -> dict[str, str]:
    """Keys for the service itself: the active health check that evicts dead servers."""
    base = loadbalancer_key(service)
    return {f"{base}/healthcheck/path": HEALTH_PATH,
            f"{base}/healthcheck/interval": health_interval,
            f"{base}/healthcheck/timeout": health_timeout,
            f"{base}/passhostheader": "true"}


def consul_tags(service: str, health_interval: str = HEALTH_INTERVAL,
                health_timeout: str = HEALTH_TIMEOUT) -> list[str]:
    """Consul Catalog tags that give Traefik the same service and health check."""
    base = f"traefik.http.services.{service}.loadbalancer"
    return ["traefik.enable=true", f"{base}.healthcheck.path={HEALTH_PATH}",
            f"{base}.healthcheck.interval={health_interval}",
            f"{base}.healthcheck.timeout={health_timeout}"]


STATIC_FILE, DYNAMIC_FILE = "traefik.yaml", "dynamic.yaml"


def config_files(settings: GatewaySettings, folder: str) -> dict[str, str]:
    """File name -> YAML text of the static and dynamic configuration, for a folder
    that will hold both (the static one names the dynamic one by its full path)."""
    settings = replace(settings, dynamic_file=f"{folder.rstrip('/')}/{DYNAMIC_FILE}")
    return {STATIC_FILE: yaml.safe_dump(static_config(settings), sort_keys=False),
            DYNAMIC_FILE: yaml.safe_dump(dynamic_config(settings), sort_keys=False)}
