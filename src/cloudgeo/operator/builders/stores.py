"""Stateful parts: Redis, MinIO or SeaweedFS, and Consul, each a one-replica StatefulSet
and a Service."""

from __future__ import annotations

from typing import Any

from cloudgeo.operator.builders.common import (
    CONSUL_PORT,
    MINIO_CONSOLE_PORT,
    MINIO_PORT,
    REDIS_PORT,
    SEAWEEDFS_PORT,
    ClusterView,
    container_security,
    field_env,
    http_probe,
    labels,
    metadata,
    pod_spec,
    secret_env,
    selector_labels,
    service,
)
from cloudgeo.operator.builders.settings import (
    ACCESS_KEY,
    SECRET_KEY,
    credentials_secret,
    redis_password_env,
)
from cloudgeo.registry.names import REGISTRY_NOTIFICATIONS

# The upstream images run as these users.
REDIS_USER, MINIO_USER, CONSUL_USER = 999, 1000, 100
SEAWEEDFS_USER = 10001  # images/seaweedfs


def stateful_set(cluster: ClusterView, component: str, container: dict[str, Any],
                 persistence: dict[str, Any] | None, user: int,
                 extra_volumes: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """One replica with its data on a claim (kept or deleted with the resource, as
    spec.volumeClaimDeletePolicy says) or, without persistence, on an emptyDir."""
    volumes = list(extra_volumes)
    spec: dict[str, Any] = {
        "serviceName": cluster.child(component), "replicas": 1,
        "selector": {"matchLabels": selector_labels(cluster, component)},
        "template": {"metadata": {"labels": labels(cluster, component)}},
    }
    if persistence and persistence["enabled"]:
        claim: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                                 "resources": {"requests": {"storage": persistence["size"]}}}
        if persistence.get("storageClassName"):
            claim["storageClassName"] = persistence["storageClassName"]
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data",
                                                      "labels": labels(cluster, component)},
                                         "spec": claim}]
        policy = cluster.spec["volumeClaimDeletePolicy"]
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": policy,
                                                        "whenScaled": "Retain"}
    else:
        volumes.append({"name": "data", "emptyDir": {}})
    spec["template"]["spec"] = pod_spec(cluster, [container], volumes=volumes, user=user)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": metadata(cluster, component), "spec": spec}


def redis_objects(cluster: ClusterView) -> list[dict[str, Any]]:
    redis = cluster.spec["redis"]
    persistent = redis["persistence"]["enabled"]
    args = ["--appendonly", "yes" if persistent else "no", "--save", "",
            "--requirepass", "$(REDIS_PASSWORD)", *REGISTRY_NOTIFICATIONS]
    container = {
        # The server named, not left to the image's entrypoint: any Redis image (the
        # upstream one, a distribution's) starts the same way.
        "name": "redis", "image": redis["image"], "command": ["redis-server"], "args": args,
        # REDISCLI_AUTH: the readiness probe's redis-cli authenticates with it.
        "env": [redis_password_env(cluster, "REDIS_PASSWORD"),
                redis_password_env(cluster, "REDISCLI_AUTH")],
        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "readinessProbe": {"exec": {"command": ["redis-cli", "ping"]}, "periodSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 20},
        "resources": redis["resources"], "securityContext": container_security(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    return [stateful_set(cluster, "redis", container, redis["persistence"], REDIS_USER),
            service(cluster, "redis", [{"name": "redis", "port": REDIS_PORT,
                                        "targetPort": "redis"}])]


def minio_objects(cluster: ClusterView) -> list[dict[str, Any]]:
    storage = cluster.spec["objectStorage"]
    if storage["type"] != "minio":
        return []
    minio = storage["minio"]
    secret = credentials_secret(cluster)
    container = {
        "name": "minio", "image": minio["image"],
        "args": ["server", "/data", "--console-address", f":{MINIO_CONSOLE_PORT}"],
        "env": [secret_env("MINIO_ROOT_USER", secret, ACCESS_KEY),
                secret_env("MINIO_ROOT_PASSWORD", secret, SECRET_KEY),
                {"name": "HOME", "value": "/tmp"}],
        "ports": [{"name": "s3", "containerPort": MINIO_PORT, "protocol": "TCP"},
                  {"name": "console", "containerPort": MINIO_CONSOLE_PORT, "protocol": "TCP"}],
        "readinessProbe": http_probe("/minio/health/ready", "s3", period=5),
        "livenessProbe": http_probe("/minio/health/live", "s3", period=20),
        "resources": minio["resources"], "securityContext": container_security(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    return [stateful_set(cluster, "minio", container, minio["persistence"], MINIO_USER,
                         [{"name": "tmp", "emptyDir": {}}]),
            service(cluster, "minio", [{"name": "s3", "port": MINIO_PORT, "targetPort": "s3"},
                                       {"name": "console", "port": MINIO_CONSOLE_PORT,
                                        "targetPort": "console"}])]


def seaweedfs_objects(cluster: ClusterView) -> list[dict[str, Any]]:
    """SeaweedFS's S3 server (`weed mini`: master, volume, filer and S3 in one process),
    keyed with the same generated credentials as MinIO would be."""
    storage = cluster.spec["objectStorage"]
    if storage["type"] != "seaweedfs":
        return []
    weed = storage["seaweedfs"]
    secret = credentials_secret(cluster)
    container = {
        "name": "seaweedfs", "image": weed["image"],
        "env": [secret_env("S3_ACCESS_KEY", secret, ACCESS_KEY),
                secret_env("S3_SECRET_KEY", secret, SECRET_KEY)],
        "ports": [{"name": "s3", "containerPort": SEAWEEDFS_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": "s3"}, "periodSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": "s3"}, "periodSeconds": 20},
        "resources": weed["resources"], "securityContext": container_security(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    return [stateful_set(cluster, "seaweedfs", container, weed["persistence"],
                         SEAWEEDFS_USER, [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]),
            service(cluster, "seaweedfs", [{"name": "s3", "port": SEAWEEDFS_PORT,
                                            "targetPort": "s3"}])]


def consul_objects(cluster: ClusterView) -> list[dict[str, Any]]:
    registry = cluster.spec["registry"]
    if registry["type"] != "consul":
        return []
    container = {
        "name": "consul", "image": registry["consul"]["image"],
        "args": ["agent", "-server", "-bootstrap-expect=1", "-client=0.0.0.0",
                 "-data-dir=/consul/data", "-bind=0.0.0.0", "-advertise=$(POD_IP)"],
        "env": [field_env("POD_IP", "status.podIP")],
        "ports": [{"name": "http", "containerPort": CONSUL_PORT, "protocol": "TCP"}],
        "readinessProbe": http_probe("/v1/status/leader", "http", period=5),
        "livenessProbe": http_probe("/v1/status/leader", "http", period=20),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"memory": "256Mi"}},
        "securityContext": container_security(),
        "volumeMounts": [{"name": "data", "mountPath": "/consul/data"}],
    }
    return [stateful_set(cluster, "consul", container, None, CONSUL_USER),
            service(cluster, "consul", [{"name": "http", "port": CONSUL_PORT,
                                         "targetPort": "http"}])]
