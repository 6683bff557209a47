"""Traefik v3 configuration, rendered from settings: pure functions, no I/O.

Static configuration: entry points (the gateway; metrics, ping and the read-only
API on an internal port of their own),
providers (Redis or Consul Catalog for the registered servers, a file for the
routes), Prometheus metrics, ping. Dynamic configuration (the file provider):
the seed's routes `/api/wps/**` (prefix stripped) and `/api/file/**`, a retry
middleware, and no buffering middleware, so bodies stream. The servers behind
each route come from the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import yaml

from cloudgeo.registry.names import FILE_SERVICE, HEALTH_PATH, UNAVAILABLE_PATH, WPS_SERVICE

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


def loopback_url(settings: GatewaySettings, port: int) -> str:
    """How the gateway reaches one of its own entry points."""
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{port}"


def dynamic_config(settings: GatewaySettings) -> dict[str, Any]:
    """Routes and middlewares; services are `<name>@<registry provider>`.

    The services' /metrics is not routed (Prometheus scrapes each pod or process
    directly); their /health is, for callers who want to see the service is up."""
    provider = provider_suffix(settings)
    identity_middlewares = auth_middlewares(settings)
    identity = list(identity_middlewares)
    wps_service, file_service = f"{WPS_SERVICE}@{provider}", f"{FILE_SERVICE}@{provider}"
    # Each public route's lost requests are answered by the other service.
    lost_routers, lost_middlewares = lost_request_answers({"files": file_service,
                                                           "wps": wps_service})
    return {"http": {
        "routers": {
            "wps": {"rule": "PathPrefix(`/api/wps`) && !Path(`/api/wps/metrics`)",
                    "entryPoints": ["web"], "service": wps_service,
                    "middlewares": [*identity, answer_lost_by("files"), "wps-strip-prefix",
                                    "retry-on-dead-node"]},
            "files": {"rule": "PathPrefix(`/api/file`) && !Path(`/api/file/metrics`)",
                      "entryPoints": ["web"], "service": file_service,
                      "middlewares": [*identity, answer_lost_by("wps"),
                                      "retry-on-dead-node"]},
            **lost_routers,
        },
        "middlewares": {
            **identity_middlewares,
            "wps-strip-prefix": {"stripPrefix": {"prefixes": ["/api/wps"]}},
            # Reissues a request whose server could not be reached (connection
            # refused or reset before any answer), on another server.
            "retry-on-dead-node": {"retry": {"attempts": settings.retry_attempts,
                                             "initialInterval": "50ms"}},
            **lost_middlewares,
        },
        "services": {"gateway-internal": {"loadBalancer": {
            "servers": [{"url": loopback_url(settings, settings.metrics_port)}]}}},
    }}


# A request in flight on a server that dies (kill -9, out of memory, a lost machine)
# fails with Traefik's own 502, which the retry middleware never resends: the server
# may have acted on it. No service of ours answers 502, so an errors middleware turns
# every 502 into a 503 with Retry-After in the caller's API (the seed's envelope,
# RFC 7807, a WPS ExceptionReport). The *other* service writes that answer: a node
# that just died may still be picked for a moment (a pooled connection is written
# before it fails, and then Traefik may not retry), the other service has not died
# with it. The gateway asks through its internal entry point, which is never
# published, so the page request passes a router with its own retry.
def answer_lost_by(answerer: str) -> str:
    """The errors middleware whose lost-request answers come from `answerer`."""
    return f"answer-lost-by-{answerer}"


def lost_request_answers(answerers: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """For each answering service (name -> Traefik service): the internal router the
    gateway asks, and the errors middleware a public router uses plus the prefix strip
    of that router. Returns (routers, middlewares)."""
    routers: dict[str, Any] = {}
    middlewares: dict[str, Any] = {}
    for answerer, service in answerers.items():
        prefix = f"/{answer_lost_by(answerer)}"
        middlewares[answer_lost_by(answerer)] = {"errors": {
            "status": ["502"], "statusRewrites": {"502": 503}, "service": "gateway-internal",
            "query": f"{prefix}{UNAVAILABLE_PATH}?url={{url}}"}}
        middlewares[f"strip-{answer_lost_by(answerer)}"] = {"stripPrefix": {
            "prefixes": [prefix]}}
        # Anonymous: the page names no one and tells nothing.
        routers[f"lost-answered-by-{answerer}"] = {
            "rule": f"Path(`{prefix}{UNAVAILABLE_PATH}`)", "entryPoints": ["traefik"],
            "service": service,
            "middlewares": ["strip-identity", f"strip-{answer_lost_by(answerer)}",
                            "retry-on-dead-node"]}
    return routers, middlewares


def server_keys(service: str, server_id: str, url: str) -> dict[str, str]:
    """Traefik Redis-provider keys announcing one server of a service."""
    base = f"{REDIS_ROOT_KEY}/http/services/{service}/loadbalancer"
    return {f"{base}/servers/{server_id}/url": url}


# A single failed check takes a server out of rotation (Traefik has no failure
# threshold), and under a burst a node's /health waits behind busy request threads:
# a 1 s timeout evicted the only node mid-burst and every caller got 503.
HEALTH_INTERVAL, HEALTH_TIMEOUT = "1s", "3s"


def service_keys(service: str, health_interval: str = HEALTH_INTERVAL,
                 health_timeout: str = HEALTH_TIMEOUT) -> dict[str, str]:
    """Keys for the service itself: the active health check that evicts dead servers."""
    base = f"{REDIS_ROOT_KEY}/http/services/{service}/loadbalancer"
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
