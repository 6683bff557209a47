"""Names, labels and pod pieces every builder shares: pure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cloudgeo.operator.crd import API_VERSION, KIND, spec_schema
from cloudgeo.operator.defaults import apply_defaults

PART_OF = "cloudgeo"
MANAGED_BY = "cloudgeo-operator"
RUN_AS_USER = 10001
WPS_PORT, FILE_PORT, GATEWAY_PORT, GATEWAY_METRICS_PORT = 8001, 8800, 9000, 9091
REDIS_PORT, MINIO_PORT, MINIO_CONSOLE_PORT, CONSUL_PORT = 6379, 9000, 9001, 8500
SEAWEEDFS_PORT = 8333
# objectStorage.type -> (component, S3 port) of the object stores the operator runs.
IN_CLUSTER_STORES = {"minio": ("minio", MINIO_PORT),
                     "seaweedfs": ("seaweedfs", SEAWEEDFS_PORT)}

SETTINGS_CHECKSUM = "cloudgeo.io/settings-checksum"


@dataclass(frozen=True)
class ClusterView:
    """One GeoProcessingCluster as the builders see it: its spec with every default."""

    name: str
    namespace: str
    spec: dict[str, Any]
    uid: str = ""
    generation: int = 0

    @classmethod
    def of(cls, resource: dict[str, Any]) -> ClusterView:
        meta = resource.get("metadata", {})
        return cls(name=meta["name"], namespace=meta.get("namespace", "default"),
                   spec=apply_defaults(spec_schema(), resource.get("spec") or {}),
                   uid=meta.get("uid", ""), generation=meta.get("generation", 0))

    def child(self, component: str) -> str:
        return f"{self.name}-{component}"

    def host(self, component: str) -> str:
        """The in-cluster DNS name of a component's Service."""
        return f"{self.child(component)}.{self.namespace}.svc"

    def object_store(self) -> tuple[str, int] | None:
        """(component, S3 port) of the object store the operator runs; None for an
        external S3."""
        return IN_CLUSTER_STORES.get(self.spec["objectStorage"]["type"])


def selector_labels(cluster: ClusterView, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "cloudgeo", "app.kubernetes.io/instance": cluster.name,
            "app.kubernetes.io/component": component}


def labels(cluster: ClusterView, component: str) -> dict[str, str]:
    return {**selector_labels(cluster, component), "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": MANAGED_BY}


def metadata(cluster: ClusterView, component: str, name: str | None = None,
             **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name or cluster.child(component),
                            "namespace": cluster.namespace,
                            "labels": labels(cluster, component), **extra}
    if cluster.uid:
        # Owned: garbage-collected with the resource. No blockOwnerDeletion: setting it
        # needs update on geoprocessingclusters/finalizers where the API server enforces
        # OwnerReferencesPermissionEnforcement (OpenShift), and nothing waits on it.
        meta["ownerReferences"] = [{"apiVersion": API_VERSION, "kind": KIND,
                                    "name": cluster.name, "uid": cluster.uid,
                                    "controller": True}]
    return meta


def checksum(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def http_probe(path: str, port: int | str, period: int = 10, failures: int = 3,
               initial_delay: int = 0) -> dict[str, Any]:
    probe: dict[str, Any] = {"httpGet": {"path": path, "port": port}, "periodSeconds": period,
                             "timeoutSeconds": 5, "failureThreshold": failures}
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}}


def pod_security(user: int = RUN_AS_USER) -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": user, "runAsGroup": user, "fsGroup": user,
            "seccompProfile": {"type": "RuntimeDefault"}}


def pod_spec(cluster: ClusterView, containers: list[dict[str, Any]], *,
             volumes: list[dict[str, Any]] | None = None, user: int = RUN_AS_USER,
             grace: int | None = None) -> dict[str, Any]:
    # No CloudGeo pod but the operator's talks to the API server: no token to steal.
    spec: dict[str, Any] = {"securityContext": pod_security(user), "containers": containers,
                            "enableServiceLinks": False, "automountServiceAccountToken": False}
    if volumes:
        spec["volumes"] = volumes
    if cluster.spec["imagePullSecrets"]:
        spec["imagePullSecrets"] = cluster.spec["imagePullSecrets"]
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return spec


def service(cluster: ClusterView, component: str, ports: list[dict[str, Any]],
            service_type: str = "ClusterIP") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(cluster, component),
            "spec": {"type": service_type, "selector": selector_labels(cluster, component),
                     "ports": [{"protocol": "TCP", **p} for p in ports]}}


def deployment(cluster: ClusterView, component: str, replicas: int,
               pod: dict[str, Any], annotations: dict[str, str] | None = None,
               max_unavailable: int | str = 0) -> dict[str, Any]:
    template_meta: dict[str, Any] = {"labels": labels(cluster, component)}
    if annotations:
        template_meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": metadata(cluster, component),
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": selector_labels(cluster, component)},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxUnavailable": max_unavailable, "maxSurge": 1}},
                     "template": {"metadata": template_meta, "spec": pod}}}


def env_list(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": str(v)} for k, v in values.items()]


def field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
