"""A Traefik ingress controller for the pods test: Traefik's Kubernetes Ingress provider,
run from CloudGeo's own gateway image (the same `traefik` binary), as a cluster's
operators would install one (a ServiceAccount allowed to read Ingresses, Services and
EndpointSlices, an IngressClass, a Deployment and its Service).

Its configuration is a file of its own: Traefik reads a file it finds in /etc/traefik
before any command-line flag, and the gateway image carries the gateway's there.
"""

from __future__ import annotations

from typing import Any

import yaml

NAME = "traefik-ingress"
CLASS = "traefik"
WEB_PORT, PING_PORT = 8000, 8080

STATIC_CONFIG = {
    "entryPoints": {"web": {"address": f":{WEB_PORT}"},
                    "traefik": {"address": f":{PING_PORT}"}},
    "ping": {"entryPoint": "traefik"},
    "providers": {"kubernetesIngress": {"ingressClass": CLASS}},
    "log": {"level": "INFO"},
}

RULES = [
    {"apiGroups": [""], "resources": ["services", "endpoints", "secrets", "nodes"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["networking.k8s.io", "extensions"],
     "resources": ["ingresses", "ingressclasses"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["networking.k8s.io", "extensions"], "resources": ["ingresses/status"],
     "verbs": ["update"]},
]


def ingress_controller(namespace: str, image: str) -> list[dict[str, Any]]:
    """The objects of a one-replica Traefik ingress controller in `namespace`."""
    labels = {"app.kubernetes.io/name": NAME}
    meta = {"name": NAME, "namespace": namespace, "labels": labels}
    probe = {"httpGet": {"path": "/ping", "port": PING_PORT}, "periodSeconds": 2}
    container = {
        "name": "traefik", "image": image, "imagePullPolicy": "Never",
        "args": ["--configFile=/etc/ingress/traefik.yaml"],
        "ports": [{"name": "web", "containerPort": WEB_PORT}],
        "readinessProbe": probe,
        "volumeMounts": [{"name": "config", "mountPath": "/etc/ingress", "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": NAME}, "rules": RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": NAME},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": NAME},
         "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}]},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": CLASS}, "spec": {"controller": "traefik.io/ingress-controller"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
         "data": {"traefik.yaml": yaml.safe_dump(STATIC_CONFIG)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "serviceAccountName": NAME, "containers": [container],
                "volumes": [{"name": "config", "configMap": {"name": NAME}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {
            "selector": labels, "ports": [{"name": "web", "port": 80,
                                           "targetPort": "web"}]}},
    ]
