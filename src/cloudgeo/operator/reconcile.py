"""One idempotent reconcile for create, resume and update.

The desired objects come from the pure builders; `KubeApi` (kubeapi.py) is the only
thing that talks to the API server, so this module runs against any object with
the same methods.
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from cloudgeo.operator.builders import OPTIONAL_KINDS, ClusterView, build_all
from cloudgeo.operator.builders.common import MANAGED_BY
from cloudgeo.operator.builders.settings import generated_secrets
from cloudgeo.operator.conditions import spec_status

# The kinds the reconcile lists: those it may prune, and the workloads it reads.
API_VERSIONS = {"Ingress": "networking.k8s.io/v1", "HorizontalPodAutoscaler": "autoscaling/v2",
                "PodDisruptionBudget": "policy/v1", "StatefulSet": "apps/v1",
                "Deployment": "apps/v1", "Service": "v1",
                "NetworkPolicy": "networking.k8s.io/v1"}


class Api(Protocol):
    def apply(self, obj: dict[str, Any]) -> None: ...
    def get(self, api_version: str, kind: str, name: str,
            namespace: str) -> dict[str, Any] | None: ...
    def create(self, obj: dict[str, Any]) -> None: ...
    def list(self, api_version: str, kind: str, namespace: str,
             selector: str) -> list[dict[str, Any]]: ...
    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> None: ...


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def owned_selector(cluster: ClusterView) -> str:
    return (f"app.kubernetes.io/instance={cluster.name},"
            f"app.kubernetes.io/managed-by={MANAGED_BY}")


def stale(existing: list[dict[str, Any]], desired: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Objects the operator made earlier that the spec no longer asks for (an Ingress
    switched off, MinIO after a move to external S3...)."""
    wanted = {key(obj) for obj in desired}
    return sorted(key(obj) for obj in existing if key(obj) not in wanted)


def reconcile(resource: dict[str, Any], api: Api) -> dict[str, Any]:
    """Brings the cluster's objects to what its spec says; returns the status fields to set."""
    cluster = ClusterView.of(resource)
    desired = build_all(cluster)
    for secret in generated_secrets(cluster, secrets.token_hex):
        # Made once: new keys would lock the services out of Redis and MinIO.
        if api.get("v1", "Secret", secret["metadata"]["name"], cluster.namespace) is None:
            api.create(secret)
    for obj in desired:
        api.apply(obj)
    existing = [obj for kind in OPTIONAL_KINDS
                for obj in api.list(API_VERSIONS[kind], kind, cluster.namespace,
                                    owned_selector(cluster))]
    for kind, name in stale(existing, desired):
        api.delete(API_VERSIONS[kind], kind, name, cluster.namespace)
    return {"observedGeneration": cluster.generation, **spec_status(cluster)}


def children(cluster: ClusterView, api: Api) -> dict[tuple[str, str], dict[str, Any]]:
    """The workloads whose readiness makes the conditions."""
    found = {}
    for kind in ("Deployment", "StatefulSet"):
        for obj in api.list(API_VERSIONS[kind], kind, cluster.namespace,
                            owned_selector(cluster)):
            found[key(obj)] = obj
    return found
