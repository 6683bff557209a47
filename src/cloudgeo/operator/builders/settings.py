"""The settings every service reads (a ConfigMap) and where S3 credentials come from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudgeo.operator.builders.common import (
    CONSUL_PORT,
    FILE_PORT,
    REDIS_PORT,
    SETTINGS_CHECKSUM,
    ClusterView,
    checksum,
    env_list,
    field_env,
    metadata,
    secret_env,
)

SETTINGS = "settings"
MINIO_CREDENTIALS = "minio-credentials"
ACCESS_KEY, SECRET_KEY = "accessKey", "secretKey"
REDIS_CREDENTIALS, REDIS_PASSWORD = "redis-credentials", "password"


def gateway_url(cluster: ClusterView) -> str:
    """Where users reach the gateway: publicURL, else the Ingress host, else the
    Service's DNS name."""
    if cluster.spec["gateway"].get("publicURL"):
        return cluster.spec["gateway"]["publicURL"].rstrip("/")
    ingress = cluster.spec["gateway"]["ingress"]
    if ingress["enabled"]:
        scheme = "https" if ingress.get("tlsSecretName") else "http"
        return f"{scheme}://{ingress['host']}"
    return f"http://{cluster.host('gateway')}"


def credentials_secret(cluster: ClusterView) -> str:
    storage = cluster.spec["objectStorage"]
    if storage["type"] == "external":
        return storage["external"]["credentialsSecret"]
    return cluster.child(MINIO_CREDENTIALS)


def s3_credentials_env(cluster: ClusterView) -> list[dict[str, Any]]:
    secret = credentials_secret(cluster)
    return [secret_env("CLOUDGEO_S3_ACCESS_KEY", secret, ACCESS_KEY),
            secret_env("CLOUDGEO_S3_SECRET_KEY", secret, SECRET_KEY)]


def redis_password_env(cluster: ClusterView, name: str = "CLOUDGEO_REDIS_PASSWORD"
                       ) -> dict[str, Any]:
    return secret_env(name, cluster.child(REDIS_CREDENTIALS), REDIS_PASSWORD)


def redis_client_env(cluster: ClusterView) -> list[dict[str, Any]]:
    """The job store's URL with its password, which Kubernetes fills in from the Secret
    ($(VAR) refers to a variable defined before it)."""
    return [redis_password_env(cluster),
            {"name": "CLOUDGEO_REDIS_URL",
             "value": f"redis://:$(CLOUDGEO_REDIS_PASSWORD)@{cluster.host('redis')}:"
                      f"{REDIS_PORT}/0"}]


def settings_data(cluster: ClusterView) -> dict[str, str]:
    storage = cluster.spec["objectStorage"]
    store = cluster.object_store()
    if store is None:
        external = storage["external"]
        s3 = {"CLOUDGEO_S3_ENDPOINT": external["endpoint"],
              "CLOUDGEO_S3_SECURE": str(external["secure"]).lower(),
              "CLOUDGEO_S3_REGION": external["region"]}
    else:
        component, port = store
        s3 = {"CLOUDGEO_S3_ENDPOINT": f"{cluster.host(component)}:{port}",
              "CLOUDGEO_S3_SECURE": "false", "CLOUDGEO_S3_REGION": "us-east-1"}
    registry = cluster.spec["registry"]["type"]
    data = {
        "CLOUDGEO_PUBLIC_URL": gateway_url(cluster),
        "CLOUDGEO_FILE_SERVICE_URL": f"http://{cluster.host('file-service')}:{FILE_PORT}",
        **s3,
        "CLOUDGEO_S3_BUCKET": storage["bucket"],
        "CLOUDGEO_REGISTRY": registry,
    }
    if registry == "consul":
        data.update(CLOUDGEO_CONSUL_HOST=cluster.host("consul"),
                    CLOUDGEO_CONSUL_PORT=str(CONSUL_PORT))
    return data


def service_env(cluster: ClusterView, values: dict[str, str]) -> dict[str, Any]:
    """What a node or file-service container reads: the settings ConfigMap, its pod IP
    (first, so that values may name $(POD_IP)), the Redis URL with its password, the S3
    keys, then `values`."""
    return {"envFrom": [{"configMapRef": {"name": cluster.child(SETTINGS)}}],
            "env": [field_env("POD_IP", "status.podIP"), *redis_client_env(cluster),
                    *s3_credentials_env(cluster), *env_list(values)]}


def settings_stamp(cluster: ClusterView) -> dict[str, str]:
    """Pod-template annotation: a settings change rolls the pods, a scale does not."""
    return {SETTINGS_CHECKSUM: checksum(settings_data(cluster))}


def settings_config_map(cluster: ClusterView) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": metadata(cluster, SETTINGS), "data": settings_data(cluster)}


def redis_credentials(cluster: ClusterView, password: str) -> dict[str, Any]:
    """Made once, with a random password, by the operator (like the MinIO keys)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": metadata(cluster, REDIS_CREDENTIALS),
            "stringData": {REDIS_PASSWORD: password}}


def minio_credentials(cluster: ClusterView, access_key: str, secret_key: str) -> dict[str, Any]:
    """Made once, with random keys, by the operator (never re-applied: the keys must stay)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": metadata(cluster, MINIO_CREDENTIALS),
            "stringData": {ACCESS_KEY: access_key, SECRET_KEY: secret_key}}


def generated_secrets(cluster: ClusterView, token: Callable[[int], str]) -> list[dict[str, Any]]:
    """The Secrets the operator makes once, with keys from `token(n_bytes)`."""
    made = [redis_credentials(cluster, token(24))]
    if cluster.object_store() is not None:  # MinIO's or SeaweedFS's keys alike
        made.append(minio_credentials(cluster, token(10), token(20)))
    return made
