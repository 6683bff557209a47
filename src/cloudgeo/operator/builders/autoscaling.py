"""Autoscaling of the WPS nodes: a HorizontalPodAutoscaler on CPU, or a KEDA ScaledObject
on the job queue's length and CPU (with the TriggerAuthentication that gives KEDA the
Redis password). Pure.

Both scale the GeoProcessingCluster itself (its scale subresource), so the operator and
the autoscaler never fight over the Deployment's replicas.
"""

from __future__ import annotations

from typing import Any

from cloudgeo.operator.builders.common import REDIS_PORT, ClusterView, metadata
from cloudgeo.operator.builders.nodes import COMPONENT
from cloudgeo.operator.builders.settings import REDIS_CREDENTIALS, REDIS_PASSWORD
from cloudgeo.operator.crd import API_VERSION, KIND
from cloudgeo.wpsnode.settings import WpsSettings

KEDA_API_VERSION = "keda.sh/v1alpha1"
# The list Celery's Redis transport keeps a queue's messages in is named after the queue
# (the nodes' default: the operator does not set CLOUDGEO_WPS_QUEUE).
JOB_QUEUE = WpsSettings.queue
REDIS_DATABASE = 0


def _scaling(cluster: ClusterView) -> dict[str, Any]:
    return cluster.spec["wpsNodes"]["autoscaling"]


def _uses_queue(cluster: ClusterView) -> bool:
    scaling = _scaling(cluster)
    return scaling["enabled"] and scaling["queue"]["enabled"]


def _target(cluster: ClusterView) -> dict[str, str]:
    return {"apiVersion": API_VERSION, "kind": KIND, "name": cluster.name}


def _scale_down_behavior(cluster: ClusterView) -> dict[str, Any]:
    return {"scaleDown": {"stabilizationWindowSeconds":
                          _scaling(cluster)["scaleDownStabilizationSeconds"]}}


def node_autoscaler(cluster: ClusterView) -> dict[str, Any] | None:
    """The HorizontalPodAutoscaler on CPU (none when KEDA makes its own)."""
    scaling = _scaling(cluster)
    if not scaling["enabled"] or _uses_queue(cluster):
        return None
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(cluster, COMPONENT),
            "spec": {"scaleTargetRef": _target(cluster),
                     "minReplicas": scaling["minReplicas"],
                     "maxReplicas": scaling["maxReplicas"],
                     "behavior": _scale_down_behavior(cluster),
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {
                             "type": "Utilization",
                             "averageUtilization": scaling[
                                 "targetCPUUtilizationPercentage"]}}}]}}


def node_trigger_authentication(cluster: ClusterView) -> dict[str, Any] | None:
    """Where KEDA reads the Redis password: the operator's generated Secret (KEDA reads
    it, so the operator still needs no read access to Secrets)."""
    if not _uses_queue(cluster):
        return None
    return {"apiVersion": KEDA_API_VERSION, "kind": "TriggerAuthentication",
            "metadata": metadata(cluster, COMPONENT, cluster.child("job-queue")),
            "spec": {"secretTargetRef": [{"parameter": "password",
                                          "name": cluster.child(REDIS_CREDENTIALS),
                                          "key": REDIS_PASSWORD}]}}


def node_scaled_object(cluster: ClusterView) -> dict[str, Any] | None:
    """A KEDA ScaledObject: as many node pods as the queue needs at targetQueueLength
    waiting jobs each, or as CPU needs, whichever is more, within min and max."""
    if not _uses_queue(cluster):
        return None
    scaling, queue = _scaling(cluster), _scaling(cluster)["queue"]
    return {"apiVersion": KEDA_API_VERSION, "kind": "ScaledObject",
            "metadata": metadata(cluster, COMPONENT),
            "spec": {
                "scaleTargetRef": _target(cluster),
                "minReplicaCount": scaling["minReplicas"],
                "maxReplicaCount": scaling["maxReplicas"],
                "pollingInterval": queue["pollingIntervalSeconds"],
                # KEDA's cooldownPeriod applies only on the way to zero, which the nodes
                # never go to (someone must answer HTTP); the HPA's window does the rest.
                "cooldownPeriod": scaling["scaleDownStabilizationSeconds"],
                "advanced": {"horizontalPodAutoscalerConfig": {
                    "behavior": _scale_down_behavior(cluster)}},
                "triggers": [
                    {"type": "redis", "name": "job-queue",
                     "metadata": {"address": f"{cluster.host('redis')}:{REDIS_PORT}",
                                  "listName": JOB_QUEUE,
                                  "listLength": str(queue["targetQueueLength"]),
                                  "activationListLength": str(queue["activationQueueLength"]),
                                  "databaseIndex": str(REDIS_DATABASE)},
                     "authenticationRef": {"name": cluster.child("job-queue")}},
                    {"type": "cpu", "name": "cpu", "metricType": "Utilization",
                     "metadata": {"value": str(scaling["targetCPUUtilizationPercentage"])}},
                ]}}
