"""Names of the registered services, as the seed's gateway knows them."""

WPS_SERVICE = "py-wps"
FILE_SERVICE = "wps-file-storage"
HEALTH_PATH = "/health"
# What a WPS node answers for a request the gateway lost to a dead server (503).
UNAVAILABLE_PATH = "/gateway/unavailable"
