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
