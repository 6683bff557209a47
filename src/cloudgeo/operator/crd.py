"""The GeoProcessingCluster CustomResourceDefinition (v1alpha1), built from Python.

Defaults live in this schema only: the API server applies them, and the builders
apply the same ones (defaults.apply_defaults), so a spec reads the same either way.
A field that sets a service's setting takes its default, bounds and description from
the setting's declaration (specsettings.setting_schema).
kopf has no conversion webhooks, so later versions must only add fields.
"""

from __future__ import annotations

from typing import Any

from cloudgeo.gateway.config import AUTH_MODES, DEFAULT_USER_HEADER
from cloudgeo.operator.specsettings import FILES, NODES, setting_schema

GROUP = "cloudgeo.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "GeoProcessingCluster"
PLURAL = "geoprocessingclusters"
SINGULAR = "geoprocessingcluster"
SHORT_NAMES = ["gpc"]

PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"]
DEFAULT_IMAGE_TAG = "0.1.0"


def _int(default: int, minimum: int = 0, maximum: int | None = None, doc: str = "") -> dict:
    schema: dict[str, Any] = {"type": "integer", "default": default, "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    if doc:
        schema["description"] = doc
    return schema


def _str(default: str | None = None, doc: str = "", **extra: Any) -> dict:
    schema: dict[str, Any] = {"type": "string", **extra}
    if default is not None:
        schema["default"] = default
    if doc:
        schema["description"] = doc
    return schema


def _object(properties: dict[str, Any], doc: str = "", default: Any = None,
            **extra: Any) -> dict:
    # An object defaults to {} so that the defaults of its fields apply.
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "default": {} if default is None else default, **extra}
    if doc:
        schema["description"] = doc
    return schema


# CEL rules on an object start with has() of the fields they read: the API server
# checks every rule against the object's default ({}), before its fields' defaults.


def _immutable(schema: dict, field: str) -> dict:
    return {**schema, "x-kubernetes-validations": [
        {"rule": "self == oldSelf", "message": f"{field} cannot be changed once set"}]}


QUANTITY = {"anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                       r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"}


def _resources(requests: dict[str, str], limits: dict[str, str]) -> dict:
    quantities = {"type": "object", "additionalProperties": QUANTITY}
    return {"type": "object", "description": "Compute resources of each pod (requests, limits).",
            "properties": {
                "requests": {**quantities, "description": "What the scheduler reserves "
                                                          "(cpu, memory)."},
                "limits": {**quantities, "description": "The most a container may use "
                                                        "(memory: above it, it is killed)."}},
            "default": {"requests": requests, "limits": limits}}


def _image(component: str) -> dict:
    return _str(f"cloudgeo/{component}:{DEFAULT_IMAGE_TAG}", f"Image of the {component} pods.")


def _pull_policy() -> dict:
    return _str("IfNotPresent", "imagePullPolicy of its pods.", enum=PULL_POLICIES)


def _volume(size: str, doc: str) -> dict:
    return _object({
        "enabled": {"type": "boolean", "default": True,
                    "description": "Keep data on a PersistentVolumeClaim (else an emptyDir)."},
        "size": {**QUANTITY, "default": size, "description": "Size of the claim."},
        "storageClassName": _str(doc="StorageClass of the claim; the cluster's default "
                                     "when empty."),
    }, doc)


def wps_nodes_schema() -> dict:
    autoscaling = _object({
        "enabled": {"type": "boolean", "default": False,
                    "description": "Scale the WPS nodes with a HorizontalPodAutoscaler "
                                   "(it then owns wpsNodes.replicas)."},
        "minReplicas": _int(2, 1, doc="Fewest WPS node pods the autoscaler keeps."),
        "maxReplicas": _int(10, 1, doc="Most WPS node pods the autoscaler makes."),
        "targetCPUUtilizationPercentage": _int(70, 1, 100, doc="Average CPU use, in percent "
                                                               "of the pods' requests, the "
                                                               "autoscaler aims at."),
        "scaleDownStabilizationSeconds": _int(300, 0, 3600, doc=(
            "How long the wish for fewer pods must hold before the autoscaler removes one "
            "(the scale-down cooldown; a short dip in the queue keeps the nodes).")),
        "queue": _object({
            "enabled": {"type": "boolean", "default": False,
                        "description": "Scale on the job queue as well as on CPU: a KEDA "
                                       "ScaledObject (KEDA must be installed) replaces the "
                                       "HorizontalPodAutoscaler."},
            "targetQueueLength": _int(4, 1, doc="Jobs waiting in the queue per WPS node pod "
                                                "the autoscaler aims at (KEDA's redis "
                                                "listLength)."),
            "activationQueueLength": _int(0, 0, doc="Queued jobs above which the queue "
                                                    "trigger counts at all (KEDA's "
                                                    "activationListLength)."),
            "pollingIntervalSeconds": _int(15, 1, 3600, doc="How often KEDA reads the queue "
                                                            "length."),
        }, "Autoscaling on the length of the job queue in Redis (KEDA)."),
    }, "Autoscaling of the WPS nodes on the scale subresource of this resource: a "
       "HorizontalPodAutoscaler on CPU, or a KEDA ScaledObject on the queue and CPU.",
        **{"x-kubernetes-validations": [{"rule": "!has(self.minReplicas) || "
                                                 "!has(self.maxReplicas) || "
                                                 "self.minReplicas <= self.maxReplicas",
                                         "message": "minReplicas must not exceed "
                                                    "maxReplicas"}]})
    return _object({
        "replicas": _int(3, 0, 200, "Number of WPS node pods."),
        "qgisWorkers": setting_schema(NODES, "qgisWorkers", maximum=64, note="Per pod."),
        "image": _image("wps-node"),
        "imagePullPolicy": _pull_policy(),
        "resources": _resources({"cpu": "1", "memory": "2Gi"}, {"memory": "4Gi"}),
        "jobTimeLimitSeconds": setting_schema(NODES, "jobTimeLimitSeconds"),
        "maxQueuedJobs": setting_schema(NODES, "maxQueuedJobs"),
        "resultTTLSeconds": setting_schema(NODES, "resultTTLSeconds", minimum=60),
        "maxJobsPerWorker": setting_schema(NODES, "maxJobsPerWorker"),
        "maxJobScratchSize": setting_schema(
            NODES, "maxJobScratchSize", note="The pods' ephemeral-storage limit and emptyDir "
                                             "sizeLimit follow from it."),
        "maxOutputSize": setting_schema(NODES, "maxOutputSize"),
        "maxJobsPerCaller": setting_schema(NODES, "maxJobsPerCaller"),
        "inputFormats": _object({
            "include": setting_schema(NODES, "inputFormats", "include",
                                      note="See docs/security.md."),
        }, "Which layer formats inputs may have."),
        "sandbox": setting_schema(NODES, "sandbox"),
        "podDisruptionBudget": _object({"minAvailable": _int(1, 0, doc=(
            "WPS node pods kept running through voluntary disruptions (node drains)."))},
                                       "PodDisruptionBudget of the nodes (when replicas > 1)."),
        "autoscaling": autoscaling,
        "processes": _object({
            "include": setting_schema(NODES, "processes", "include"),
            "exclude": setting_schema(NODES, "processes", "exclude"),
        }, "Which algorithms the nodes publish (the publication policy: docs/security.md)."),
        "admins": setting_schema(NODES, "admins", note="The file service lets them act on "
                                                       "every file."),
        "models": _object({
            "configMap": _str(doc=(
                "A ConfigMap whose keys are QGIS Processing models (NAME.model3, published "
                "as model:NAME) and Processing scripts (NAME.py, script:NAME), mounted "
                "read-only in every node; a change is published without a restart (once "
                "the kubelet has updated the volume). A model is published only if every "
                "algorithm it calls is.")),
            "persistentVolumeClaim": _str(doc=(
                "Instead of a ConfigMap: a claim (ReadOnlyMany, or on one node) holding "
                "the same files.")),
            "maxSize": setting_schema(NODES, "models", "maxSize"),
        }, "QGIS models and scripts published as processes (docs/security.md).",
            **{"x-kubernetes-validations": [{
                "rule": "!has(self.configMap) || !has(self.persistentVolumeClaim)",
                "message": "models: a configMap or a persistentVolumeClaim, not both"}]}),
        "callbacks": _object({
            "hosts": setting_schema(NODES, "callbacks", "hosts", note=(
                "With `*` the nodes' NetworkPolicy lets them reach public addresses on "
                "ports 80 and 443, and on the port of each named host; a named host inside "
                "the cluster's own networks needs a NetworkPolicy of your own as well.")),
            "attempts": setting_schema(NODES, "callbacks", "attempts", maximum=50),
        }, "OGC API callbacks: the job's status and results POSTed to the URLs its "
           "subscriber names (docs/security.md)."),
        "jobList": setting_schema(NODES, "jobList"),
    }, "The WPS nodes: PyWPS/Flask over pools of QGIS worker processes.")


def authentication_schema() -> dict:
    return _object({
        "mode": _str("none", "none; basic: HTTP basic against an htpasswd Secret; forward: "
                             "Traefik ForwardAuth to an identity proxy such as oauth2-proxy.",
                     enum=list(AUTH_MODES)),
        "htpasswdSecret": _str(doc="mode basic: a Secret whose key `users` holds htpasswd "
                                   "lines (bcrypt: htpasswd -nbB user password)."),
        "forwardAuthURL": _str(doc="mode forward: the identity proxy's auth endpoint, e.g. "
                                   "http://oauth2-proxy.auth.svc/oauth2/auth."),
        "userHeader": _str(DEFAULT_USER_HEADER, "The header carrying the user id to the "
                                              "services (mode forward: the one the proxy "
                                              "answers with, e.g. X-Auth-Request-User)."),
    }, "Authentication at the gateway; jobs then belong to their caller.",
        **{"x-kubernetes-validations": [
            {"rule": "!has(self.mode) || self.mode != 'basic' || (has(self.htpasswdSecret) && "
                     "self.htpasswdSecret != '')",
             "message": "authentication.htpasswdSecret is required when mode is basic"},
            {"rule": "!has(self.mode) || self.mode != 'forward' || (has(self.forwardAuthURL) && "
                     "self.forwardAuthURL != '')",
             "message": "authentication.forwardAuthURL is required when mode is forward"}]})


def file_service_schema() -> dict:
    return _object({
        "replicas": _int(2, 1, 50, "Number of file service pods."),
        "image": _image("file-service"),
        "imagePullPolicy": _pull_policy(),
        "resources": _resources({"cpu": "250m", "memory": "256Mi"}, {"memory": "512Mi"}),
        "maxUploadSize": setting_schema(FILES, "maxUploadSize"),
        "ownerOnlyRetrieval": setting_schema(FILES, "ownerOnlyRetrieval"),
    }, "The file service (uploads and direct links over object storage).")


def gateway_schema() -> dict:
    ingress = _object({
        "enabled": {"type": "boolean", "default": False,
                    "description": "Make an Ingress for the gateway (host is then "
                                   "required)."},
        "host": _str(doc="Host name the Ingress answers for."),
        "className": _str(doc="ingressClassName; the cluster's default class when empty."),
        "tlsSecretName": _str(doc="Secret with the TLS certificate for host; plain HTTP "
                                  "when empty."),
        "annotations": {"type": "object", "additionalProperties": {"type": "string"},
                        "default": {}, "description": "Annotations of the Ingress (for "
                                                      "its controller)."},
    }, "An Ingress in front of the gateway Service.",
        **{"x-kubernetes-validations": [{"rule": "!has(self.enabled) || !self.enabled || "
                                                 "(has(self.host) && self.host != '')",
                                         "message": "ingress.host is required when the "
                                                    "ingress is enabled"}]})
    return _object({
        "replicas": _int(1, 1, 20, "Number of gateway (Traefik) pods."),
        "image": _image("gateway"),
        "imagePullPolicy": _pull_policy(),
        "resources": _resources({"cpu": "100m", "memory": "128Mi"}, {"memory": "256Mi"}),
        "serviceType": _str("ClusterIP", "Type of the gateway Service.", enum=SERVICE_TYPES),
        "publicURL": _str(doc="Where users reach the gateway (a LoadBalancer's or NodePort's "
                              "address, a proxy's), the base of every link the services "
                              "answer with; by default the Ingress host, else the gateway "
                              "Service's cluster DNS name.", pattern="^https?://[^/]+(/.*)?$"),
        "ingress": ingress,
        "authentication": authentication_schema(),
        "rateLimit": _object({
            "average": _int(200, 0, doc="Requests a second one client address may make on "
                                        "average (Traefik's rateLimit; past it: 429 with "
                                        "Retry-After); 0 turns the limit off."),
            "burst": _int(400, 0, doc="Requests above the average one address may make at "
                                      "once."),
            "inFlightPerClient": _int(128, 0, doc="Requests of one client address in flight "
                                                  "at once (Traefik's inFlightReq: 429 "
                                                  "past it); 0 turns the limit off."),
        }, "Per client address limits at the gateway. Behind a load balancer or Ingress "
           "that does not keep the client's address, every client shares one."),
    }, "The gateway (Traefik): /api/wps/** round-robin to the nodes, /api/file/** to the "
       "file service.")


def redis_schema() -> dict:
    return _object({
        "image": _str("redis:7.0", "Redis image."),
        "resources": _resources({"cpu": "100m", "memory": "256Mi"}, {"memory": "1Gi"}),
        "persistence": _volume("1Gi", "Where Redis keeps the job queue and records."),
    }, "Redis: job queue, job records and (with the redis registry) the gateway's routes.")


def object_storage_schema() -> dict:
    minio = _object({
        "image": _str("quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z", "MinIO image."),
        "resources": _resources({"cpu": "250m", "memory": "512Mi"}, {"memory": "2Gi"}),
        "persistence": _volume("10Gi", "Where MinIO keeps the objects."),
    }, "An in-cluster MinIO StatefulSet (type minio).")
    seaweedfs = _object({
        "image": _image("seaweedfs"),
        "resources": _resources({"cpu": "250m", "memory": "256Mi"}, {"memory": "1Gi"}),
        "persistence": _volume("10Gi", "Where SeaweedFS keeps the objects."),
    }, "An in-cluster SeaweedFS StatefulSet (type seaweedfs; Apache-2.0, for those who "
       "cannot or will not run MinIO's AGPL server).")
    external = _object({
        "endpoint": _str(doc="host:port of the S3 API."),
        "region": _str("us-east-1", "Region the S3 requests are signed for."),
        "secure": {"type": "boolean", "default": True, "description": "HTTPS to the "
                                                                       "endpoint."},
        "credentialsSecret": _str(doc="Secret with the keys accessKey and secretKey."),
    }, "An S3 service outside the cluster (type external).")
    return _object({
        "type": _immutable(_str("minio", "Where objects are stored.",
                                enum=["minio", "seaweedfs", "external"]), "objectStorage.type"),
        "bucket": _immutable(_str("cloudgeo", "Bucket of inputs and results (created when "
                                              "missing)."), "objectStorage.bucket"),
        "minio": minio,
        "seaweedfs": seaweedfs,
        "external": external,
    }, "Object storage for uploads and results.", **{"x-kubernetes-validations": [{
        "rule": "!has(self.type) || self.type != 'external' || (has(self.external.endpoint) && "
                "has(self.external.credentialsSecret))",
        "message": "objectStorage.external.endpoint and credentialsSecret are required "
                   "when type is external"}]})


def registry_schema() -> dict:
    return _object({
        "type": _str("redis", "How nodes announce themselves to the gateway.",
                     enum=["redis", "consul"]),
        "consul": _object({"image": _str(
            "hashicorp/consul:1.16.1", "Consul image (1.16.1: the last MPL-2.0 release; later "
            "ones are under the BSL).")},
                          "The in-cluster Consul server (type consul)."),
    }, "Service registry the gateway reads its servers from.")


def spec_schema() -> dict:
    return _object({
        "wpsNodes": wps_nodes_schema(),
        "fileService": file_service_schema(),
        "gateway": gateway_schema(),
        "redis": redis_schema(),
        "objectStorage": object_storage_schema(),
        "registry": registry_schema(),
        "imagePullSecrets": {
            "type": "array", "default": [],
            "description": "Secrets (type kubernetes.io/dockerconfigjson) every pod pulls "
                           "its image with, from a private registry.",
            "items": {"type": "object", "required": ["name"], "properties": {"name": {
                "type": "string", "description": "Name of a Secret in this namespace."}}}},
        "volumeClaimDeletePolicy": _str(
            "Retain", "What happens to the PersistentVolumeClaims of Redis and MinIO when "
                      "the resource is deleted.", enum=["Retain", "Delete"]),
    }, "The desired GeoProcessing cluster.")


def status_schema() -> dict:
    condition = {"type": "object", "required": ["type", "status"], "properties": {
        "type": {"type": "string"},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": {"type": "string"},
        "message": {"type": "string"},
        "observedGeneration": {"type": "integer"},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
    }}
    return {"type": "object", "properties": {
        "conditions": {"type": "array", "items": condition,
                       "x-kubernetes-list-type": "map",
                       "x-kubernetes-list-map-keys": ["type"]},
        "observedGeneration": {"type": "integer"},
        "nodes": {"type": "integer", "description": "WPS node pods (scale subresource)."},
        "readyNodes": {"type": "integer"},
        "nodeSelector": {"type": "string", "description": "Label selector of the node pods "
                                                          "(scale subresource, HPA)."},
        "gatewayURL": {"type": "string"},
    }}


def crd_manifest() -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}",
                     "labels": {"app.kubernetes.io/name": "cloudgeo",
                                "app.kubernetes.io/component": "crd"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": KIND, "plural": PLURAL, "singular": SINGULAR,
                      "shortNames": SHORT_NAMES, "categories": ["cloudgeo"]},
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object", "description": "A geoprocessing cluster: every QGIS "
                                                     "algorithm as an OGC web service.",
                    "properties": {"apiVersion": {"type": "string"},
                                   "kind": {"type": "string"},
                                   "metadata": {"type": "object"},
                                   "spec": spec_schema(), "status": status_schema()}}},
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.wpsNodes.replicas",
                    "statusReplicasPath": ".status.nodes",
                    "labelSelectorPath": ".status.nodeSelector"}},
                "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string",
                     "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                    {"name": "Nodes", "type": "integer", "jsonPath": ".status.readyNodes"},
                    {"name": "Gateway", "type": "string", "jsonPath": ".status.gatewayURL",
                     "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }],
        },
    }
