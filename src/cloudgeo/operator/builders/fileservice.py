"""The file service: Deployment and Service."""

from __future__ import annotations

from typing import Any

from cloudgeo.common.envsettings import env_name
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.operator.builders.common import (
    FILE_PORT,
    ClusterView,
    container_security,
    deployment,
    http_probe,
    pod_spec,
    service,
)
from cloudgeo.operator.builders.settings import service_env, settings_stamp
from cloudgeo.operator.specsettings import FILE_ACCESS, FILE_LIMITS, spec_env

COMPONENT = "file-service"


def file_access_env(cluster: ClusterView) -> dict[str, str]:
    """With authentication: files belong to their uploader (docs/security.md, Authentication)."""
    auth = cluster.spec["gateway"]["authentication"]
    if auth["mode"] == "none":
        return {}
    return {env_name(FileServiceSettings, "user_header"): auth["userHeader"],
            **spec_env(cluster.spec, FILE_ACCESS)}


def file_service_deployment(cluster: ClusterView) -> dict[str, Any]:
    files = cluster.spec["fileService"]
    container = {
        "name": COMPONENT, "image": files["image"], "imagePullPolicy": files["imagePullPolicy"],
        **service_env(cluster, {"CLOUDGEO_FILE_HOST": "0.0.0.0",
                                "CLOUDGEO_FILE_PORT": str(FILE_PORT),
                                "CLOUDGEO_FILE_ADVERTISE_URL": f"http://$(POD_IP):{FILE_PORT}",
                                **spec_env(cluster.spec, FILE_LIMITS),
                                "CLOUDGEO_FILE_METRICS_DIR": "/tmp/metrics",
                                **file_access_env(cluster)}),
        "ports": [{"name": "http", "containerPort": FILE_PORT, "protocol": "TCP"}],
        "readinessProbe": http_probe("/health", "http", period=5, failures=2),
        "livenessProbe": http_probe("/health", "http", period=20, failures=6),
        "resources": files["resources"],
        "securityContext": container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = pod_spec(cluster, [container], volumes=[{"name": "tmp", "emptyDir": {}}], grace=60)
    return deployment(cluster, COMPONENT, files["replicas"], pod, settings_stamp(cluster))


def file_service_service(cluster: ClusterView) -> dict[str, Any]:
    return service(cluster, COMPONENT, [{"name": "http", "port": FILE_PORT,
                                         "targetPort": "http"}])
