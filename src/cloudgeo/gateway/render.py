"""`python -m cloudgeo.gateway.render FOLDER`: the gateway image's configuration.

| variable                         | default      | meaning                                  |
|----------------------------------|--------------|------------------------------------------|
| CLOUDGEO_REGISTRY                | redis        | where servers come from: redis or consul |
| CLOUDGEO_GATEWAY_REDIS_ENDPOINT  | redis:6379   | Redis host:port (registry redis)         |
| CLOUDGEO_GATEWAY_CONSUL_ENDPOINT | consul:8500  | Consul host:port (registry consul)       |
| CLOUDGEO_GATEWAY_REDIS_PASSWORD  | (none)       | Redis password                           |
| CLOUDGEO_GATEWAY_AUTH            | none         | none, basic or forward                   |
| CLOUDGEO_GATEWAY_HTPASSWD        | (none)       | htpasswd file (auth basic)               |
| CLOUDGEO_GATEWAY_FORWARD_AUTH_URL| (none)       | identity proxy's auth URL (auth forward) |
| CLOUDGEO_GATEWAY_USER_HEADER     | X-CloudGeo-User | header carrying the user id to services |
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cloudgeo.common.envsettings import env_str
from cloudgeo.gateway.config import DEFAULT_USER_HEADER, GatewaySettings
from cloudgeo.gateway.files import write_config


def container_settings(env=os.environ) -> GatewaySettings:
    """Listening on every interface of the container, servers from the registry."""
    return GatewaySettings(
        host="", registry=env_str(env, "CLOUDGEO_REGISTRY", "redis"),
        redis_endpoint=env_str(env, "CLOUDGEO_GATEWAY_REDIS_ENDPOINT", "redis:6379"),
        consul_endpoint=env_str(env, "CLOUDGEO_GATEWAY_CONSUL_ENDPOINT", "consul:8500"),
        redis_password=env_str(env, "CLOUDGEO_GATEWAY_REDIS_PASSWORD", ""),
        **auth_settings(env))


def auth_settings(env=os.environ) -> dict[str, str]:
    """The gateway's authentication settings from CLOUDGEO_GATEWAY_* variables."""
    return {"auth": env_str(env, "CLOUDGEO_GATEWAY_AUTH", "none"),
            "htpasswd_file": env_str(env, "CLOUDGEO_GATEWAY_HTPASSWD", ""),
            "forward_auth_url": env_str(env, "CLOUDGEO_GATEWAY_FORWARD_AUTH_URL", ""),
            "user_header": env_str(env, "CLOUDGEO_GATEWAY_USER_HEADER", DEFAULT_USER_HEADER)}


def main() -> None:
    print(write_config(Path(sys.argv[1]), container_settings()))


if __name__ == "__main__":
    main()
