"""Pure builders: a GeoProcessingCluster in, every object it needs out (no I/O)."""

from __future__ import annotations

from typing import Any

from cloudgeo.operator.builders.autoscaling import (
    node_autoscaler,
    node_scaled_object,
    node_trigger_authentication,
)
from cloudgeo.operator.builders.common import ClusterView
from cloudgeo.operator.builders.fileservice import file_service_deployment, file_service_service
from cloudgeo.operator.builders.gateway import (
    gateway_config_map,
    gateway_deployment,
    gateway_ingress,
    gateway_service,
)
from cloudgeo.operator.builders.network import network_policies
from cloudgeo.operator.builders.nodes import (
    node_deployment,
    node_disruption_budget,
    node_service,
)
from cloudgeo.operator.builders.settings import settings_config_map
from cloudgeo.operator.builders.stores import (
    consul_objects,
    minio_objects,
    redis_objects,
    seaweedfs_objects,
)

__all__ = ["OPTIONAL_KINDS", "ClusterView", "build_all"]

# Kinds that come and go with the spec (pruned by the operator when no longer built).
OPTIONAL_KINDS = ("Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "StatefulSet",
                  "Service", "NetworkPolicy", "ScaledObject", "TriggerAuthentication")


def build_all(cluster: ClusterView) -> list[dict[str, Any]]:
    """Every object of the cluster, dependencies first (settings, stores, then services)."""
    built = [
        settings_config_map(cluster), gateway_config_map(cluster),
        *redis_objects(cluster), *minio_objects(cluster), *seaweedfs_objects(cluster),
        *consul_objects(cluster),
        file_service_deployment(cluster), file_service_service(cluster),
        node_deployment(cluster), node_service(cluster), node_disruption_budget(cluster),
        node_autoscaler(cluster), node_trigger_authentication(cluster),
        node_scaled_object(cluster),
        gateway_deployment(cluster), gateway_service(cluster), gateway_ingress(cluster),
        *network_policies(cluster),
    ]
    return [obj for obj in built if obj is not None]
