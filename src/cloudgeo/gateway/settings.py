"""The gateway image's settings (`python -m cloudgeo.gateway.render`), one declaration
each; the local cluster builds `GatewaySettings` itself and reads none of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envsettings import read, setting
from cloudgeo.gateway.config import AUTH_MODES, DEFAULT_USER_HEADER, GatewaySettings


@dataclass(frozen=True)
class GatewayImageSettings:
    registry: str = setting("CLOUDGEO_REGISTRY", "redis", choices=("redis", "consul"),
                            doc="where the gateway finds the nodes and file services: the "
                                "Redis they register in, or Consul's catalogue")
    redis_endpoint: str = setting("CLOUDGEO_GATEWAY_REDIS_ENDPOINT", "redis:6379",
                                  doc="host:port of that Redis (registry `redis`)")
    redis_password: str = setting("CLOUDGEO_GATEWAY_REDIS_PASSWORD", "",
                                  doc="its password; empty: none")
    consul_endpoint: str = setting("CLOUDGEO_GATEWAY_CONSUL_ENDPOINT", "consul:8500",
                                   doc="host:port of Consul's HTTP API (registry `consul`)")
    auth: str = setting("CLOUDGEO_GATEWAY_AUTH", "none", choices=AUTH_MODES,
                        doc="authentication at the entry point: `basic` (an htpasswd "
                            "file) or `forward` (Traefik ForwardAuth to an identity proxy "
                            "such as oauth2-proxy)")
    htpasswd_file: str = setting("CLOUDGEO_GATEWAY_HTPASSWD", "",
                                 doc="the htpasswd file (auth `basic`)")
    forward_auth_url: str = setting("CLOUDGEO_GATEWAY_FORWARD_AUTH_URL", "",
                                    doc="the identity proxy's auth URL (auth `forward`)")
    user_header: str = setting("CLOUDGEO_GATEWAY_USER_HEADER", DEFAULT_USER_HEADER,
                               doc="the header carrying the authenticated user id to the "
                                   "services (removed from every client request first)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewayImageSettings:
        return read(cls, environ)

    def gateway(self) -> GatewaySettings:
        """Listening on every interface of the container, servers from the registry."""
        return GatewaySettings(host="", **vars(self))
