"""status.conditions from the children's own status: pure.

Reconciled says whether the API server accepted every object of the spec (and names
what it refused); one condition per component (RedisReady, ObjectStorageReady,
RegistryReady, FileServiceReady, WpsNodesReady, GatewayReady); Ready when all are
True. A condition's lastTransitionTime moves only when its status changes. Every
condition and status.observedGeneration carry the generation last applied in full,
never a generation the server refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudgeo.operator.builders.common import ClusterView
from cloudgeo.operator.builders.nodes import node_selector
from cloudgeo.operator.builders.settings import gateway_url

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class Readiness:
    status: str
    reason: str
    message: str


STORE_NAMES = {"minio": "MinIO", "seaweedfs": "SeaweedFS"}


def workload_readiness(obj: dict[str, Any] | None, what: str) -> Readiness:
    """Readiness of a Deployment or StatefulSet from its status."""
    if obj is None:
        return Readiness(FALSE, "NotFound", f"the {what} has not been created yet")
    desired = obj.get("spec", {}).get("replicas", 1)
    status = obj.get("status") or {}
    generation = obj.get("metadata", {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return Readiness(FALSE, "Progressing", f"the {what} is rolling out a change")
    ready = status.get("readyReplicas", 0) or 0
    updated = status.get("updatedReplicas", ready) or 0
    if desired == 0:
        return Readiness(TRUE, "ScaledToZero", f"the {what} is scaled to zero")
    if ready >= desired and updated >= desired:
        return Readiness(TRUE, "Available", f"{ready}/{desired} pods ready")
    return Readiness(FALSE, "Unavailable", f"{ready}/{desired} pods ready")


def component_readiness(cluster: ClusterView,
                        children: dict[tuple[str, str], dict[str, Any]]
                        ) -> dict[str, Readiness]:
    """Condition type -> readiness, from the children found (kind, name) -> object."""
    def find(kind: str, component: str) -> dict[str, Any] | None:
        return children.get((kind, cluster.child(component)))

    result = {"RedisReady": workload_readiness(find("StatefulSet", "redis"), "Redis "
                                                                              "StatefulSet")}
    store = cluster.object_store()
    if store is not None:
        component = store[0]
        result["ObjectStorageReady"] = workload_readiness(
            find("StatefulSet", component), f"{STORE_NAMES[component]} StatefulSet")
    else:
        endpoint = cluster.spec["objectStorage"]["external"]["endpoint"]
        result["ObjectStorageReady"] = Readiness(
            TRUE, "External", f"external S3 at {endpoint} (not checked by the operator)")
    if cluster.spec["registry"]["type"] == "consul":
        result["RegistryReady"] = workload_readiness(find("StatefulSet", "consul"),
                                                     "Consul StatefulSet")
    else:
        result["RegistryReady"] = Readiness(TRUE, "Redis", "nodes register in Redis")
    result["FileServiceReady"] = workload_readiness(find("Deployment", "file-service"),
                                                    "file service Deployment")
    result["WpsNodesReady"] = workload_readiness(find("Deployment", "wps-node"),
                                                 "WPS node Deployment")
    result["GatewayReady"] = workload_readiness(find("Deployment", "gateway"),
                                                "gateway Deployment")
    return result


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(readiness: dict[str, Readiness], previous: list[dict[str, Any]],
               generation: int, now: str) -> list[dict[str, Any]]:
    before = {c.get("type"): c for c in previous or []}
    waiting = [name for name, r in readiness.items() if r.status != TRUE]
    overall = Readiness(TRUE, "AllComponentsReady", "every component is ready") if not waiting \
        else Readiness(FALSE, "ComponentsNotReady", "not ready: " + ", ".join(waiting))
    made = []
    for name, r in {"Ready": overall, **readiness}.items():
        old = before.get(name, {})
        since = old.get("lastTransitionTime") if old.get("status") == r.status else None
        made.append({"type": name, "status": r.status, "reason": r.reason,
                     "message": r.message, "observedGeneration": generation,
                     "lastTransitionTime": since or now})
    return made


def spec_status(cluster: ClusterView) -> dict[str, str]:
    """Status fields that follow from the spec alone (written at once by the reconcile,
    so the scale subresource has its selector before any pod exists)."""
    return {"nodeSelector": node_selector(cluster), "gatewayURL": gateway_url(cluster)}


def reconciled(generation: int, refused: list[str]) -> Readiness:
    if not refused:
        return Readiness(TRUE, "Applied", f"generation {generation} applied")
    return Readiness(FALSE, "ApplyRefused", f"generation {generation} refused by the API "
                                            "server: " + "; ".join(refused))


def status_for(cluster: ClusterView, children: dict[tuple[str, str], dict[str, Any]],
               previous: dict[str, Any], now: str, refused: list[str]) -> dict[str, Any]:
    """The whole status, from the children, what the server refused of this generation
    and the status before (`previous`)."""
    nodes = children.get(("Deployment", cluster.child("wps-node"))) or {}
    node_status = nodes.get("status") or {}
    observed = previous.get("observedGeneration", 0) if refused else cluster.generation
    readiness = {"Reconciled": reconciled(cluster.generation, refused),
                 **component_readiness(cluster, children)}
    return {
        "observedGeneration": observed,
        "conditions": conditions(readiness, previous.get("conditions") or [], observed, now),
        "nodes": node_status.get("replicas", 0) or 0,
        "readyNodes": node_status.get("readyReplicas", 0) or 0,
        **spec_status(cluster),
    }
