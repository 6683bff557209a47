"""One idempotent reconcile, run on every change of a resource or of its children and
on every resync: brings the cluster's objects to what its spec says.

The desired objects come from the pure builders; `KubeApi` (kubeapi.py) is the only
thing that talks to the API server, so this module runs against any object with
the same methods. An object the server refuses (admission, validation) is reported
and the others are still applied, so one bad field never leaves a cluster half done.
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from cloudgeo.operator.builders import OPTIONAL_KINDS, ClusterView, build_all
from cloudgeo.operator.builders.common import MANAGED_BY
from cloudgeo.operator.builders.settings import generated_secrets

# The kinds the reconcile lists: those it may prune, and the workloads it reads.
API_VERSIONS = {"Ingress": "networking.k8s.io/v1", "HorizontalPodAutoscaler": "autoscaling/v2",
                "PodDisruptionBudget": "policy/v1", "StatefulSet": "apps/v1",
                "Deployment": "apps/v1", "Service": "v1",
                "NetworkPolicy": "networking.k8s.io/v1", "ScaledObject": "keda.sh/v1alpha1",
                "TriggerAuthentication": "keda.sh/v1alpha1"}


class Refused(Exception):
    """The API server refused an object (4xx other than 404/409 on create): the spec
    asks for something the server will not accept. Not worth retrying as is."""

    def __init__(self, kind: str, name: str, message: str) -> None:
        super().__init__(f"{kind} {name}: {message}")


class Api(Protocol):
    def apply(self, obj: dict[str, Any]) -> None: ...
    def create_if_absent(self, obj: dict[str, Any]) -> bool: ...
    def list(self, api_version: str, kind: str, namespace: str,
             selector: str) -> list[dict[str, Any]]: ...
    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> None: ...


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def owned_selector(cluster: ClusterView) -> str:
    return (f"app.kubernetes.io/instance={cluster.name},"
            f"app.kubernetes.io/managed-by={MANAGED_BY}")


def owned_by(obj: dict[str, Any], cluster: ClusterView) -> bool:
    """Made for this cluster by the operator: labels alone are not enough, KEDA copies a
    ScaledObject's labels onto the HorizontalPodAutoscaler it makes (owned by it)."""
    owners = obj["metadata"].get("ownerReferences") or []
    return not cluster.uid or any(ref.get("uid") == cluster.uid for ref in owners)


def stale(existing: list[dict[str, Any]], desired: list[dict[str, Any]],
          cluster: ClusterView) -> list[tuple[str, str]]:
    """Objects the operator made earlier that the spec no longer asks for (an Ingress
    switched off, MinIO after a move to external S3...)."""
    wanted = {key(obj) for obj in desired}
    return sorted(key(obj) for obj in existing
                  if key(obj) not in wanted and owned_by(obj, cluster))


def reconcile(resource: dict[str, Any], api: Api) -> list[str]:
    """Applies every desired object, prunes stale ones; returns what the server refused
    (empty when the whole spec is in place)."""
    cluster = ClusterView.of(resource)
    desired = build_all(cluster)
    refused = []
    for secret in generated_secrets(cluster, secrets.token_hex):
        # Made once (new keys would lock the services out of Redis and MinIO), and
        # never read back: the operator needs no read access to Secrets.
        api.create_if_absent(secret)
    for obj in desired:
        try:
            api.apply(obj)
        except Refused as exc:
            refused.append(str(exc))
    existing = [obj for kind in OPTIONAL_KINDS
                for obj in api.list(API_VERSIONS[kind], kind, cluster.namespace,
                                    owned_selector(cluster))]
    for kind, name in stale(existing, desired, cluster):
        api.delete(API_VERSIONS[kind], kind, name, cluster.namespace)
    return refused


def children(cluster: ClusterView, api: Api) -> dict[tuple[str, str], dict[str, Any]]:
    """The workloads whose readiness makes the conditions."""
    found = {}
    for kind in ("Deployment", "StatefulSet"):
        for obj in api.list(API_VERSIONS[kind], kind, cluster.namespace,
                            owned_selector(cluster)):
            found[key(obj)] = obj
    return found
