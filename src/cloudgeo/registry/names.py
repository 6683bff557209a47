"""Names of the registered services, as the seed's gateway knows them."""

WPS_SERVICE = "py-wps"
FILE_SERVICE = "wps-file-storage"
HEALTH_PATH = "/health"
# Where a WPS node and the file service answer for a request the gateway lost to a
# dead server (503, cloudgeo.common.unavailable).
UNAVAILABLE_PATH = "/gateway/unavailable"
