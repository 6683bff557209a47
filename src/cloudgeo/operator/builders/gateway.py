"""The gateway: Traefik with the configuration of cloudgeo.gateway.config, in a ConfigMap."""

from __future__ import annotations

from typing import Any

from cloudgeo.gateway.config import STATIC_FILE, GatewaySettings, config_files
from cloudgeo.operator.builders.common import (
    CONSUL_PORT,
    GATEWAY_METRICS_PORT,
    GATEWAY_PORT,
    REDIS_PORT,
    ClusterView,
    checksum,
    container_security,
    deployment,
    http_probe,
    metadata,
    pod_spec,
    service,
)
from cloudgeo.operator.builders.settings import redis_password_env

COMPONENT = "gateway"
CONFIG_DIR = "/etc/traefik"
TEMPLATE_DIR = "/etc/traefik-template"
HTPASSWD_DIR = "/etc/traefik-users"
# The ConfigMap holds no secret: an init container puts the Redis password in place.
PASSWORD_PLACEHOLDER = "__CLOUDGEO_REDIS_PASSWORD__"
CONFIG_CHECKSUM = "cloudgeo.io/gateway-config-checksum"


def traefik_settings(cluster: ClusterView) -> GatewaySettings:
    auth = cluster.spec["gateway"]["authentication"]
    limits = cluster.spec["gateway"]["rateLimit"]
    return GatewaySettings(host="", port=GATEWAY_PORT, metrics_port=GATEWAY_METRICS_PORT,
                           registry=cluster.spec["registry"]["type"],
                           redis_endpoint=f"{cluster.host('redis')}:{REDIS_PORT}",
                           redis_password=PASSWORD_PLACEHOLDER,
                           consul_endpoint=f"{cluster.host('consul')}:{CONSUL_PORT}",
                           auth=auth["mode"], htpasswd_file=f"{HTPASSWD_DIR}/users",
                           forward_auth_url=auth.get("forwardAuthURL", ""),
                           user_header=auth["userHeader"],
                           rate_limit_average=limits["average"],
                           rate_limit_burst=limits["burst"],
                           in_flight_per_client=limits["inFlightPerClient"])


def gateway_config_data(cluster: ClusterView) -> dict[str, str]:
    return config_files(traefik_settings(cluster), CONFIG_DIR)


def gateway_config_map(cluster: ClusterView) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": metadata(cluster, COMPONENT, name=cluster.child("gateway-config")),
            "data": gateway_config_data(cluster)}


def gateway_deployment(cluster: ClusterView) -> dict[str, Any]:
    gateway = cluster.spec["gateway"]
    container = {
        "name": COMPONENT, "image": gateway["image"],
        "imagePullPolicy": gateway["imagePullPolicy"],
        "args": [f"--configFile={CONFIG_DIR}/{STATIC_FILE}"],
        "ports": [{"name": "web", "containerPort": GATEWAY_PORT, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": GATEWAY_METRICS_PORT,
                   "protocol": "TCP"}],
        "readinessProbe": http_probe("/ping", "metrics", period=5, failures=2),
        "livenessProbe": http_probe("/ping", "metrics", period=20, failures=3),
        "resources": gateway["resources"],
        "securityContext": container_security(),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    volumes = [{"name": "template", "configMap": {"name": cluster.child("gateway-config")}},
               {"name": "config", "emptyDir": {"medium": "Memory"}}]
    auth = gateway["authentication"]
    if auth["mode"] == "basic":
        volumes.append({"name": "users", "secret": {"secretName": auth["htpasswdSecret"]}})
        container["volumeMounts"].append({"name": "users", "mountPath": HTPASSWD_DIR,
                                          "readOnly": True})
    pod = pod_spec(cluster, [container], volumes=volumes)
    pod["initContainers"] = [{
        "name": "config", "image": gateway["image"],
        "imagePullPolicy": gateway["imagePullPolicy"], "command": ["/bin/sh", "-c"],
        "args": [f"for f in {TEMPLATE_DIR}/*; do sed \"s/{PASSWORD_PLACEHOLDER}/"
                 f"$REDIS_PASSWORD/\" \"$f\" > {CONFIG_DIR}/$(basename \"$f\"); done"],
        "env": [redis_password_env(cluster, "REDIS_PASSWORD")],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                      "limits": {"memory": "32Mi"}},
        "securityContext": container_security(),
        "volumeMounts": [{"name": "template", "mountPath": TEMPLATE_DIR, "readOnly": True},
                         {"name": "config", "mountPath": CONFIG_DIR}]}]
    return deployment(cluster, COMPONENT, gateway["replicas"], pod,
                      {CONFIG_CHECKSUM: checksum(gateway_config_data(cluster))})


def gateway_service(cluster: ClusterView) -> dict[str, Any]:
    return service(cluster, COMPONENT, [
        {"name": "web", "port": 80, "targetPort": "web"},
        {"name": "metrics", "port": GATEWAY_METRICS_PORT, "targetPort": "metrics"}],
        cluster.spec["gateway"]["serviceType"])


def gateway_ingress(cluster: ClusterView) -> dict[str, Any] | None:
    ingress = cluster.spec["gateway"]["ingress"]
    if not ingress["enabled"]:
        return None
    annotations = dict(ingress["annotations"])
    if ingress.get("className") == "nginx":  # stream uploads of any size, no time limit
        annotations = {"nginx.ingress.kubernetes.io/proxy-body-size": "0",
                       "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
                       "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                       **annotations}
    spec: dict[str, Any] = {"rules": [{"host": ingress["host"], "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": cluster.child(COMPONENT),
                                "port": {"name": "web"}}}}]}}]}
    if ingress.get("className"):
        spec["ingressClassName"] = ingress["className"]
    if ingress.get("tlsSecretName"):
        spec["tls"] = [{"hosts": [ingress["host"]], "secretName": ingress["tlsSecretName"]}]
    meta = metadata(cluster, COMPONENT)
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
            "spec": spec}
