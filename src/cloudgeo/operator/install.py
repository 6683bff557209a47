"""The operator's own installation (RBAC, Deployment) and a sample resource: pure.

manifests/ is rendered from these (`python -m cloudgeo.operator.render`); the Helm
chart templates the same objects, and a test checks both grant the same rules.
"""

from __future__ import annotations

from typing import Any

from cloudgeo.operator.crd import API_VERSION, DEFAULT_IMAGE_TAG, GROUP, KIND, PLURAL

NAME = "cloudgeo-operator"
LIVENESS_PORT = 8080

RULES: list[dict[str, Any]] = [
    {"apiGroups": [GROUP], "resources": [PLURAL],
     "verbs": ["get", "list", "watch", "patch", "update"]},
    {"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"],
     "verbs": ["get", "patch", "update"]},
    # kopf watches which CRDs and namespaces exist, and posts events.
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
     "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
    # What the builders make, applied server-side (patch), pruned (delete).
    {"apiGroups": [""], "resources": ["configmaps", "services"],
     "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
    # Generated keys are created once and never read back: no read access to Secrets.
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"],
     "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"],
     "verbs": ["get", "list", "create", "patch", "delete"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
     "verbs": ["get", "list", "create", "patch", "delete"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"],
     "verbs": ["get", "list", "create", "patch", "delete"]},
    # Autoscaling on the job queue, where KEDA is installed.
    {"apiGroups": ["keda.sh"], "resources": ["scaledobjects", "triggerauthentications"],
     "verbs": ["get", "list", "create", "patch", "delete"]},
]


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "operator",
            "app.kubernetes.io/part-of": "cloudgeo"}


def operator_objects(namespace: str, image: str = f"cloudgeo/operator:{DEFAULT_IMAGE_TAG}"
                     ) -> list[dict[str, Any]]:
    meta = {"name": NAME, "namespace": namespace, "labels": _labels()}
    selector = {"app.kubernetes.io/name": NAME}
    container = {
        "name": "operator", "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "health", "containerPort": LIVENESS_PORT, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"},
                          "periodSeconds": 20, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                      "limits": {"memory": "256Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        # The Kubernetes client caches API discovery in /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": NAME, "labels": _labels()}, "rules": RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": NAME, "labels": _labels()},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": NAME},
         "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}]},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
            "replicas": 1, "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": _labels()}, "spec": {
                "serviceAccountName": NAME,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [container],
                "volumes": [{"name": "tmp", "emptyDir": {}}]}}}},
    ]


def sample_cluster(name: str = "geo", namespace: str = "cloudgeo") -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"wpsNodes": {"replicas": 3, "qgisWorkers": 2},
                     "gateway": {"serviceType": "ClusterIP"},
                     "registry": {"type": "consul"}}}
