"""Names of the registered services, as the seed's gateway knows them."""

WPS_SERVICE = "py-wps"
FILE_SERVICE = "wps-file-storage"
HEALTH_PATH = "/health"
# Where a WPS node and the file service answer, for the other service, a request the
# gateway lost to a dead server, and one it had no server for (503s,
# cloudgeo.common.unavailable).
UNAVAILABLE_PATH = "/gateway/unavailable"
NO_SERVER_PATH = "/gateway/no-server"
GATEWAY_ANSWER_PATHS = (UNAVAILABLE_PATH, NO_SERVER_PATH)


# Redis-server arguments of a Redis the gateway reads registrations from: Traefik's Redis
# provider learns of them by keyspace events. It turns them on when it connects, but a
# Redis that restarts forgets that, and the gateway then kept its old servers until it
# restarted too (found by the real pods test).
REGISTRY_NOTIFICATIONS = ("--notify-keyspace-events", "AKE")
