"""The WPS nodes: Deployment, metrics Service, PodDisruptionBudget (autoscaling.py scales them)."""

from __future__ import annotations

from typing import Any

from cloudgeo.common.envsettings import env_name
from cloudgeo.operator.builders.common import (
    WPS_PORT,
    ClusterView,
    container_security,
    deployment,
    field_env,
    http_probe,
    metadata,
    pod_spec,
    selector_labels,
    service,
)
from cloudgeo.operator.builders.settings import service_env, settings_stamp
from cloudgeo.operator.specsettings import (
    NODE_ADMINS,
    NODE_GUARDS,
    NODE_JOB_LIST,
    NODE_LIMITS,
    NODE_PUBLICATION,
    spec_env,
)
from cloudgeo.wpsnode.settings import WpsSettings

COMPONENT = "wps-node"
STATE_DIR = "/var/lib/cloudgeo"
MODELS_DIR = "/etc/cloudgeo/models"  # spec.wpsNodes.models, read-only
MIB = 1024 ** 2
# Besides the jobs' scratch: each worker's input cache (CLOUDGEO_WPS_INPUT_CACHE_BYTES'
# default) and QGIS profile, the node's metrics and logs.
WORKER_OVERHEAD_BYTES = 256 * MIB + 64 * MIB
NODE_OVERHEAD_BYTES = 256 * MIB
TMP_VOLUME_BYTES = 1024 * MIB
# What the scheduler reserves: a node's usual use, not its worst case (the limit).
EPHEMERAL_STORAGE_REQUEST = "2Gi"


def state_volume_bytes(nodes: dict[str, Any]) -> int:
    """The state emptyDir's size: every QGIS worker's job at its scratch cap at once."""
    per_worker = nodes["maxJobScratchSize"] + WORKER_OVERHEAD_BYTES
    return nodes["qgisWorkers"] * per_worker + NODE_OVERHEAD_BYTES


def pod_scratch_bytes(nodes: dict[str, Any]) -> int:
    return state_volume_bytes(nodes) + TMP_VOLUME_BYTES


def with_ephemeral_storage(resources: dict[str, Any], limit: int) -> dict[str, Any]:
    """The spec's resources with an ephemeral-storage request and limit where it sets
    none: past the limit the kubelet evicts the pod rather than fill the machine's disk."""
    requests = {"ephemeral-storage": EPHEMERAL_STORAGE_REQUEST,
                **(resources.get("requests") or {})}
    limits = {"ephemeral-storage": str(limit), **(resources.get("limits") or {})}
    return {**resources, "requests": requests, "limits": limits}


def node_selector(cluster: ClusterView) -> str:
    """The node pods' label selector, as the scale subresource reports it."""
    return ",".join(f"{k}={v}" for k, v in selector_labels(cluster, COMPONENT).items())


def access_env(cluster: ClusterView) -> dict[str, str]:
    """Publication policy, job scoping and (with authentication) the identity header."""
    env = spec_env(cluster.spec, NODE_JOB_LIST)
    env.update(spec_env(cluster.spec, (entry for entry in NODE_PUBLICATION
                                       if entry.value(cluster.spec))))
    auth = cluster.spec["gateway"]["authentication"]
    if auth["mode"] != "none":
        env[env_name(WpsSettings, "user_header")] = auth["userHeader"]
        env.update(spec_env(cluster.spec, NODE_ADMINS))
    return env


def node_container(cluster: ClusterView) -> dict[str, Any]:
    nodes = cluster.spec["wpsNodes"]
    env = service_env(cluster, {
        "CLOUDGEO_WPS_HOST": "0.0.0.0",
        "CLOUDGEO_WPS_PORT": str(WPS_PORT),
        "CLOUDGEO_WPS_ADVERTISE_URL": f"http://$(POD_IP):{WPS_PORT}",
        **spec_env(cluster.spec, NODE_LIMITS),
        env_name(WpsSettings, "models_dir"): MODELS_DIR if models_volume(nodes) else "",
        **spec_env(cluster.spec, NODE_GUARDS),
        env_name(WpsSettings, "state_dir"): STATE_DIR,
        "CLOUDGEO_WPS_METRICS_DIR": f"{STATE_DIR}/metrics",
        "HOME": STATE_DIR,
        **access_env(cluster),
    })
    env["env"].append(field_env(env_name(WpsSettings, "node_id"), "metadata.name"))
    return {
        "name": COMPONENT, "image": nodes["image"], "imagePullPolicy": nodes["imagePullPolicy"],
        **env,
        "ports": [{"name": "http", "containerPort": WPS_PORT, "protocol": "TCP"}],
        # QGIS takes a while to start; the catalogue is baked into the image.
        "startupProbe": http_probe("/health", "http", period=5, failures=60),
        "readinessProbe": http_probe("/health", "http", period=5, failures=2),
        "livenessProbe": http_probe("/health", "http", period=20, failures=6),
        "resources": with_ephemeral_storage(nodes["resources"], pod_scratch_bytes(nodes)),
        "securityContext": container_security(),
        "volumeMounts": [{"name": "state", "mountPath": STATE_DIR},
                         {"name": "tmp", "mountPath": "/tmp"},
                         *([{"name": "models", "mountPath": MODELS_DIR, "readOnly": True}]
                           if models_volume(nodes) else [])],
    }


def models_volume(nodes: dict[str, Any]) -> dict[str, Any] | None:
    """The operator's models and scripts (spec.wpsNodes.models), as a pod volume. A
    ConfigMap is mounted whole (no subPath), so the kubelet's updates reach the node."""
    models = nodes.get("models") or {}
    if models.get("configMap"):
        return {"name": "models", "configMap": {"name": models["configMap"]}}
    if models.get("persistentVolumeClaim"):
        return {"name": "models", "persistentVolumeClaim": {
            "claimName": models["persistentVolumeClaim"], "readOnly": True}}
    return None


def node_deployment(cluster: ClusterView) -> dict[str, Any]:
    nodes = cluster.spec["wpsNodes"]
    pod = pod_spec(cluster, [node_container(cluster)],
                   volumes=[{"name": "state", "emptyDir": {
                                "sizeLimit": str(state_volume_bytes(nodes))}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": str(TMP_VOLUME_BYTES)}},
                            *filter(None, [models_volume(nodes)])],
                   # Drain (deregister, finish answering) before the pod goes; queued and
                   # running jobs are acknowledged late, so another node takes them over.
                   grace=60)
    return deployment(cluster, COMPONENT, nodes["replicas"], pod, settings_stamp(cluster))


def node_service(cluster: ClusterView) -> dict[str, Any]:
    """For Prometheus: the gateway reaches nodes through the registry, not this Service."""
    return service(cluster, COMPONENT, [{"name": "http", "port": WPS_PORT,
                                         "targetPort": "http"}])


def node_disruption_budget(cluster: ClusterView) -> dict[str, Any] | None:
    nodes = cluster.spec["wpsNodes"]
    if nodes["replicas"] < 2 and not nodes["autoscaling"]["enabled"]:
        return None
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": metadata(cluster, COMPONENT),
            "spec": {"minAvailable": nodes["podDisruptionBudget"]["minAvailable"],
                     "selector": {"matchLabels": selector_labels(cluster, COMPONENT)}}}
