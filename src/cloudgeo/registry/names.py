"""Names of the registered services, as the seed's gateway knows them."""

WPS_SERVICE = "py-wps"
FILE_SERVICE = "wps-file-storage"
HEALTH_PATH = "/health"
