"""The pure builders: a GeoProcessingCluster in, Kubernetes objects out (no API server)."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from cloudgeo.operator.builders import ClusterView, build_all
from cloudgeo.operator.builders.common import SETTINGS_CHECKSUM

UID = "0b7c2d4e-1111-2222-3333-444455556666"


def cluster(spec: dict | None = None, name: str = "geo") -> ClusterView:
    return ClusterView.of({"metadata": {"name": name, "namespace": "gis", "uid": UID,
                                        "generation": 4}, "spec": spec or {}})


def objects(spec: dict | None = None) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in build_all(cluster(spec))}


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


SPECS = {
    "default": {},
    "scaled": {"wpsNodes": {"replicas": 12, "qgisWorkers": 6}},
    "autoscaled": {"wpsNodes": {"autoscaling": {"enabled": True, "maxReplicas": 30}}},
    "queue-autoscaled": {"wpsNodes": {"autoscaling": {
        "enabled": True, "minReplicas": 3, "maxReplicas": 20,
        "scaleDownStabilizationSeconds": 600, "queue": {"enabled": True,
                                                        "targetQueueLength": 6}}}},
    "external-s3": {"objectStorage": {"type": "external", "external": {
        "endpoint": "s3.example.org:443", "credentialsSecret": "s3-keys"}}},
    "consul": {"registry": {"type": "consul"}},
    "seaweedfs": {"objectStorage": {"type": "seaweedfs"}},
    "ingress": {"gateway": {"ingress": {"enabled": True, "host": "wps.example.org",
                                        "className": "nginx", "tlsSecretName": "wps-tls"}}},
    "ephemeral": {"redis": {"persistence": {"enabled": False}},
                  "objectStorage": {"minio": {"persistence": {"enabled": False}}}},
    "single": {"wpsNodes": {"replicas": 1}, "imagePullSecrets": [{"name": "regcred"}]},
    "callbacks": {"wpsNodes": {"callbacks": {"hosts": ["*", "hooks.example.org:8443"]}}},
    "models": {"wpsNodes": {"models": {"configMap": "geo-models", "maxSize": 65536}}},
    "models-claim": {"wpsNodes": {"models": {"persistentVolumeClaim": "models"}}},
    "limited": {"wpsNodes": {"maxJobScratchSize": 2 * 1024**3, "sandbox": "best-effort",
                             "maxJobsPerCaller": 7,
                             "inputFormats": {"include": ["netCDF"]},
                             "resources": {"limits": {"memory": "8Gi"}}},
                "gateway": {"rateLimit": {"average": 0, "inFlightPerClient": 16},
                            "authentication": {"mode": "forward",
                                               "forwardAuthURL": "http://auth/check"}},
                "fileService": {"ownerOnlyRetrieval": True}},
}


@pytest.mark.parametrize("version", ["1.27.0", "1.33.0", "1.37.0"])
@pytest.mark.parametrize("name", SPECS)
def test_every_object_passes_strict_kubernetes_validation(name, version):
    # KEDA's kinds are not in Kubernetes' schemas: the end-to-end test applies them
    # to a real API server with KEDA's own CRDs (tests/e2e/test_control_plane.py).
    for obj in build_all(cluster(SPECS[name])):
        if not obj["apiVersion"].startswith("keda.sh/"):
            kubernetes_validate.validate(obj, version, strict=True)


def test_strict_validation_would_catch_a_misspelt_field():
    deployment = objects()[("Deployment", "geo-wps-node")]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.30.0", strict=True)


def test_default_spec_builds_the_whole_cluster_owned_by_the_resource():
    built = objects()
    assert sorted(built) == sorted([
        ("ConfigMap", "geo-settings"), ("ConfigMap", "geo-gateway-config"),
        ("StatefulSet", "geo-redis"), ("Service", "geo-redis"),
        ("StatefulSet", "geo-minio"), ("Service", "geo-minio"),
        ("Deployment", "geo-file-service"), ("Service", "geo-file-service"),
        ("Deployment", "geo-wps-node"), ("Service", "geo-wps-node"),
        ("PodDisruptionBudget", "geo-wps-node"),
        ("Deployment", "geo-gateway"), ("Service", "geo-gateway"),
        *[("NetworkPolicy", f"geo-{c}") for c in ("redis", "minio", "wps-node",
                                                  "file-service", "gateway")]])
    for obj in built.values():
        (owner,) = obj["metadata"]["ownerReferences"]
        assert owner == {"apiVersion": "cloudgeo.io/v1alpha1", "kind": "GeoProcessingCluster",
                         "name": "geo", "uid": UID, "controller": True}
        assert obj["metadata"]["namespace"] == "gis"
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "geo"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "cloudgeo-operator"


def test_selectors_use_only_stable_labels():
    for obj in build_all(cluster()):
        selector = obj.get("spec", {}).get("selector") or {}
        selector = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
        for key in selector:
            assert key in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                           "app.kubernetes.io/component"), (obj["kind"], key)


def test_nodes_carry_probes_resources_and_settings():
    node = objects()[("Deployment", "geo-wps-node")]
    pod = node["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "2Gi",
                                                  "ephemeral-storage": "2Gi"}
    env = env_of(container)
    assert env["CLOUDGEO_WPS_QGIS_WORKERS"] == "2"
    assert env["CLOUDGEO_WPS_ADVERTISE_URL"] == "http://$(POD_IP):8001"
    assert env["CLOUDGEO_WPS_NODE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["CLOUDGEO_S3_SECRET_KEY"] == {"secretKeyRef": {
        "name": "geo-minio-credentials", "key": "secretKey"}}
    assert container["envFrom"] == [{"configMapRef": {"name": "geo-settings"}}]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    settings = objects()[("ConfigMap", "geo-settings")]["data"]
    # The Redis URL carries the password: never in a ConfigMap, filled in from the Secret.
    assert "CLOUDGEO_REDIS_URL" not in settings
    assert env["CLOUDGEO_REDIS_PASSWORD"] == {"secretKeyRef": {
        "name": "geo-redis-credentials", "key": "password"}}
    names = [e["name"] for e in container["env"]]
    assert names.index("CLOUDGEO_REDIS_PASSWORD") < names.index("CLOUDGEO_REDIS_URL")
    url = next(e for e in container["env"] if e["name"] == "CLOUDGEO_REDIS_URL")["value"]
    assert url == "redis://:$(CLOUDGEO_REDIS_PASSWORD)@geo-redis.gis.svc:6379/0"
    assert settings["CLOUDGEO_S3_ENDPOINT"] == "geo-minio.gis.svc:9000"
    assert settings["CLOUDGEO_PUBLIC_URL"] == "http://geo-gateway.gis.svc"
    assert settings["CLOUDGEO_REGISTRY"] == "redis"


def test_scale_sets_replicas_and_workers():
    built = objects(SPECS["scaled"])
    node = built[("Deployment", "geo-wps-node")]
    assert node["spec"]["replicas"] == 12
    assert env_of(node["spec"]["template"]["spec"]["containers"][0])[
        "CLOUDGEO_WPS_QGIS_WORKERS"] == "6"
    assert built[("PodDisruptionBudget", "geo-wps-node")]["spec"]["minAvailable"] == 1


def test_a_single_node_gets_no_disruption_budget_and_pull_secrets_reach_every_pod():
    built = objects(SPECS["single"])
    assert ("PodDisruptionBudget", "geo-wps-node") not in built
    for obj in built.values():
        if obj["kind"] in ("Deployment", "StatefulSet"):
            assert obj["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_autoscaling_targets_the_scale_subresource_of_the_resource():
    hpa = objects(SPECS["autoscaled"])[("HorizontalPodAutoscaler", "geo-wps-node")]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "cloudgeo.io/v1alpha1",
                                             "kind": "GeoProcessingCluster", "name": "geo"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 30)
    assert ("HorizontalPodAutoscaler", "geo-wps-node") not in objects()
    assert hpa["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 300}}


def test_queue_autoscaling_is_a_keda_scaled_object_on_the_job_queue_and_cpu():
    built = objects(SPECS["queue-autoscaled"])
    assert ("HorizontalPodAutoscaler", "geo-wps-node") not in built  # KEDA makes its own
    scaled = built[("ScaledObject", "geo-wps-node")]["spec"]
    assert scaled["scaleTargetRef"] == {"apiVersion": "cloudgeo.io/v1alpha1",
                                        "kind": "GeoProcessingCluster", "name": "geo"}
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (3, 20)
    assert scaled["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 600}}
    redis, cpu = scaled["triggers"]
    # The list the nodes' Celery queue lives in, on the cluster's Redis, database 0.
    assert redis["metadata"] == {"address": "geo-redis.gis.svc:6379",
                                 "listName": "cloudgeo.jobs", "listLength": "6",
                                 "activationListLength": "0", "databaseIndex": "0"}
    assert cpu == {"type": "cpu", "name": "cpu", "metricType": "Utilization",
                   "metadata": {"value": "70"}}
    auth = built[("TriggerAuthentication", redis["authenticationRef"]["name"])]
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "password", "name": "geo-redis-credentials", "key": "password"}]
    nodes = built[("Deployment", "geo-wps-node")]["spec"]["template"]["spec"]
    assert "CLOUDGEO_WPS_QUEUE" not in env_of(nodes["containers"][0])  # the default list
    # Without autoscaling.enabled the queue block alone scales nothing.
    off = objects({"wpsNodes": {"autoscaling": {"queue": {"enabled": True}}}})
    assert not [k for k in off if k[0] in ("ScaledObject", "TriggerAuthentication",
                                            "HorizontalPodAutoscaler")]


def test_external_s3_replaces_minio():
    built = objects(SPECS["external-s3"])
    assert not [k for k in built if "minio" in k[1]]
    settings = built[("ConfigMap", "geo-settings")]["data"]
    assert settings["CLOUDGEO_S3_ENDPOINT"] == "s3.example.org:443"
    assert settings["CLOUDGEO_S3_SECURE"] == "true"
    files = built[("Deployment", "geo-file-service")]["spec"]["template"]["spec"]
    assert env_of(files["containers"][0])["CLOUDGEO_S3_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "s3-keys", "key": "accessKey"}}


def test_seaweedfs_replaces_minio_with_the_same_generated_keys():
    built = objects(SPECS["seaweedfs"])
    assert not [k for k in built if "minio" in k[1]]
    weed = built[("StatefulSet", "geo-seaweedfs")]["spec"]
    (container,) = weed["template"]["spec"]["containers"]
    assert container["image"].startswith("cloudgeo/seaweedfs:")
    assert env_of(container) == {
        "S3_ACCESS_KEY": {"secretKeyRef": {"name": "geo-minio-credentials", "key": "accessKey"}},
        "S3_SECRET_KEY": {"secretKeyRef": {"name": "geo-minio-credentials", "key": "secretKey"}}}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert weed["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    settings = built[("ConfigMap", "geo-settings")]["data"]
    assert settings["CLOUDGEO_S3_ENDPOINT"] == "geo-seaweedfs.gis.svc:8333"
    files = built[("Deployment", "geo-file-service")]["spec"]["template"]["spec"]
    assert env_of(files["containers"][0])["CLOUDGEO_S3_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "geo-minio-credentials", "key": "accessKey"}}
    # Only CloudGeo's pods reach it, on its S3 port; the nodes may reach it.
    policy = built[("NetworkPolicy", "geo-seaweedfs")]["spec"]
    assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8333}]
    egress = built[("NetworkPolicy", "geo-wps-node")]["spec"]["egress"]
    assert any(rule.get("ports") == [{"protocol": "TCP", "port": 8333}] for rule in egress)


def test_consul_registry_adds_consul_and_points_traefik_and_services_at_it():
    built = objects(SPECS["consul"])
    assert ("StatefulSet", "geo-consul") in built and ("Service", "geo-consul") in built
    settings = built[("ConfigMap", "geo-settings")]["data"]
    assert (settings["CLOUDGEO_REGISTRY"], settings["CLOUDGEO_CONSUL_HOST"]) == (
        "consul", "geo-consul.gis.svc")
    static = yaml.safe_load(built[("ConfigMap", "geo-gateway-config")]["data"]["traefik.yaml"])
    assert static["providers"]["consulCatalog"]["endpoint"]["address"] == \
        "geo-consul.gis.svc:8500"
    redis_static = yaml.safe_load(objects()[("ConfigMap", "geo-gateway-config")]["data"][
        "traefik.yaml"])
    assert redis_static["providers"]["redis"]["endpoints"] == ["geo-redis.gis.svc:6379"]
    assert ("StatefulSet", "geo-consul") not in objects()


def test_gateway_config_routes_the_seed_paths_and_is_mounted():
    built = objects()
    dynamic = yaml.safe_load(built[("ConfigMap", "geo-gateway-config")]["data"]["dynamic.yaml"])
    assert dynamic["http"]["routers"]["wps"]["rule"].startswith("PathPrefix(`/api/wps`)")
    static = yaml.safe_load(built[("ConfigMap", "geo-gateway-config")]["data"]["traefik.yaml"])
    assert static["providers"]["file"]["filename"] == "/etc/traefik/dynamic.yaml"
    assert static["entryPoints"]["web"]["address"] == ":9000"
    gateway = built[("Deployment", "geo-gateway")]["spec"]["template"]["spec"]
    assert gateway["containers"][0]["readinessProbe"]["httpGet"] == {"path": "/ping",
                                                                      "port": "metrics"}
    service = built[("Service", "geo-gateway")]
    assert [p["name"] for p in service["spec"]["ports"]] == ["web", "metrics"]


def test_ingress_on_and_off():
    assert not [k for k in objects() if k[0] == "Ingress"]
    built = objects(SPECS["ingress"])
    ingress = built[("Ingress", "geo-gateway")]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["wps.example.org"], "secretName": "wps-tls"}]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] \
        == "0"
    assert built[("ConfigMap", "geo-settings")]["data"]["CLOUDGEO_PUBLIC_URL"] == \
        "https://wps.example.org"


def test_public_url_is_the_base_of_links_whatever_exposes_the_gateway():
    spec = {"gateway": {"serviceType": "NodePort", "publicURL": "http://gis.example.org:30900/",
                        "ingress": {"enabled": True, "host": "wps.example.org"}}}
    settings = objects(spec)[("ConfigMap", "geo-settings")]["data"]
    assert settings["CLOUDGEO_PUBLIC_URL"] == "http://gis.example.org:30900"


def test_volume_claims_follow_persistence_and_the_deletion_policy():
    redis = objects()[("StatefulSet", "geo-redis")]["spec"]
    assert redis["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {
        "storage": "1Gi"}
    assert redis["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    deleting = objects({"volumeClaimDeletePolicy": "Delete"})[("StatefulSet", "geo-minio")]
    assert deleting["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    ephemeral = objects(SPECS["ephemeral"])[("StatefulSet", "geo-redis")]["spec"]
    assert "volumeClaimTemplates" not in ephemeral
    assert {"name": "data", "emptyDir": {}} in ephemeral["template"]["spec"]["volumes"]


def test_a_settings_change_rolls_the_pods_and_a_scale_does_not():
    def stamp(spec):
        return objects(spec)[("Deployment", "geo-wps-node")]["spec"]["template"]["metadata"][
            "annotations"][SETTINGS_CHECKSUM]

    assert stamp({}) == stamp({}) == stamp(SPECS["scaled"])
    assert stamp({}) != stamp(SPECS["consul"])


def test_building_twice_gives_the_same_objects():
    assert build_all(cluster(SPECS["consul"])) == build_all(cluster(SPECS["consul"]))


def test_pods_get_no_service_account_token_and_stores_accept_only_cloudgeo_pods():
    built = objects()
    for obj in built.values():
        if obj["kind"] in ("Deployment", "StatefulSet"):
            assert obj["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    redis_policy = built[("NetworkPolicy", "geo-redis")]["spec"]
    assert redis_policy["ingress"] == [{"from": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "cloudgeo", "app.kubernetes.io/instance": "geo"}}}],
        "ports": [{"protocol": "TCP", "port": 6379}]}]
    nodes = built[("NetworkPolicy", "geo-wps-node")]["spec"]
    assert nodes["policyTypes"] == ["Ingress", "Egress"]
    sources = [peer for rule in nodes["ingress"] for peer in rule["from"]]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "cloudgeo",
                                            "app.kubernetes.io/instance": "geo",
                                            "app.kubernetes.io/component": "gateway"}}} \
        in sources
    # MinIO in-cluster: the outside only for callbacks, at public addresses on 80 and 443.
    outside = [rule for rule in nodes["egress"] if any("ipBlock" in p for p in rule["to"])]
    assert outside == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
        "127.0.0.0/8"]}}], "ports": [{"protocol": "TCP", "port": 80},
                                     {"protocol": "TCP", "port": 443}]}]
    closed = objects({"wpsNodes": {"callbacks": {"hosts": []}}})
    egress = closed[("NetworkPolicy", "geo-wps-node")]["spec"]["egress"]
    assert not any("ipBlock" in peer for rule in egress for peer in rule["to"])
    gateway = built[("NetworkPolicy", "geo-gateway")]["spec"]
    assert {"ports": [{"protocol": "TCP", "port": 9000}]} in gateway["ingress"]


def test_external_object_storage_is_reached_only_at_public_addresses():
    spec = {"objectStorage": {"type": "external", "external": {
        "endpoint": "s3.example.org:443", "credentialsSecret": "s3"}}}
    built = {(o["kind"], o["metadata"]["name"]): o for o in build_all(cluster(spec))}
    egress = built[("NetworkPolicy", "geo-wps-node")]["spec"]["egress"]
    public = [rule for rule in egress if any("ipBlock" in p for p in rule["to"])]
    assert public and public[0]["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "169.254.0.0/16" in public[0]["to"][0]["ipBlock"]["except"]
    assert ("NetworkPolicy", "geo-minio") not in built


def test_credentials_reach_only_the_pods_that_use_them():
    def secrets_used(obj) -> set[str]:
        pod = obj["spec"]["template"]["spec"]
        found = set()
        for container in [*pod["containers"], *pod.get("initContainers", [])]:
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    found.add(ref["name"])
        found |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        return found

    workloads = {name: secrets_used(obj) for (kind, name), obj in objects().items()
                 if kind in ("Deployment", "StatefulSet")}
    assert workloads == {
        "geo-redis": {"geo-redis-credentials"},
        "geo-minio": {"geo-minio-credentials"},
        "geo-file-service": {"geo-redis-credentials", "geo-minio-credentials"},
        "geo-wps-node": {"geo-redis-credentials", "geo-minio-credentials"},
        "geo-gateway": {"geo-redis-credentials"}}
    redis = objects()[("StatefulSet", "geo-redis")]["spec"]["template"]["spec"]
    assert redis["containers"][0]["command"] == ["redis-server"]  # whatever the entrypoint
    # The gateway sees registrations by keyspace events, also after Redis restarts.
    assert "--notify-keyspace-events" in redis["containers"][0]["args"]
    assert "--requirepass" in redis["containers"][0]["args"]
    gateway = objects()[("Deployment", "geo-gateway")]["spec"]["template"]["spec"]
    template = yaml.safe_load(objects()[("ConfigMap", "geo-gateway-config")]["data"][
        "traefik.yaml"])
    assert template["providers"]["redis"]["password"] == "__CLOUDGEO_REDIS_PASSWORD__"
    assert "__CLOUDGEO_REDIS_PASSWORD__" in gateway["initContainers"][0]["args"][0]


def test_gateway_authentication_from_the_spec():
    basic = objects({"gateway": {"authentication": {"mode": "basic",
                                                    "htpasswdSecret": "users"}}})
    dynamic = yaml.safe_load(basic[("ConfigMap", "geo-gateway-config")]["data"][
        "dynamic.yaml"])
    assert dynamic["http"]["middlewares"]["authenticate"]["basicAuth"]["usersFile"] == \
        "/etc/traefik-users/users"
    pod = basic[("Deployment", "geo-gateway")]["spec"]["template"]["spec"]
    assert {"name": "users", "secret": {"secretName": "users"}} in pod["volumes"]
    node_env = {e["name"]: e.get("value") for e in basic[("Deployment", "geo-wps-node")][
        "spec"]["template"]["spec"]["containers"][0]["env"]}
    assert node_env["CLOUDGEO_WPS_USER_HEADER"] == "X-CloudGeo-User"
    forward = objects({"gateway": {"authentication": {
        "mode": "forward", "forwardAuthURL": "http://oauth2-proxy.auth.svc/oauth2/auth",
        "userHeader": "X-Auth-Request-User"}},
        "wpsNodes": {"admins": ["ops"], "processes": {"exclude": ["grass7:*"]}}})
    dynamic = yaml.safe_load(forward[("ConfigMap", "geo-gateway-config")]["data"][
        "dynamic.yaml"])
    assert dynamic["http"]["middlewares"]["authenticate"]["forwardAuth"][
        "authResponseHeaders"] == ["X-Auth-Request-User"]
    node_env = {e["name"]: e.get("value") for e in forward[("Deployment", "geo-wps-node")][
        "spec"]["template"]["spec"]["containers"][0]["env"]}
    assert node_env["CLOUDGEO_WPS_USER_HEADER"] == "X-Auth-Request-User"
    assert node_env["CLOUDGEO_WPS_ADMINS"] == "ops"
    assert node_env["CLOUDGEO_WPS_PROCESSES_EXCLUDE"] == "grass7:*"
    plain = objects()[("Deployment", "geo-wps-node")]["spec"]["template"]["spec"]
    assert "CLOUDGEO_WPS_USER_HEADER" not in {e["name"] for e in plain["containers"][0]["env"]}


def test_node_limits_sandbox_and_scratch_volume_follow_the_spec():
    deployment = objects(SPECS["limited"])[("Deployment", "geo-wps-node")]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = env_of(container)
    assert env["CLOUDGEO_WPS_MAX_JOB_SCRATCH"] == str(2 * 1024**3)
    assert env["CLOUDGEO_WPS_MAX_OUTPUT_SIZE"] == str(2 * 1024**3)  # the default
    assert env["CLOUDGEO_WPS_MAX_JOBS_PER_CALLER"] == "7"
    default = env_of(objects()[("Deployment", "geo-wps-node")]["spec"]["template"]["spec"]
                     ["containers"][0])
    assert default["CLOUDGEO_WPS_MAX_JOBS_PER_CALLER"] == "100"  # the node's own default
    assert env["CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE"] == "netCDF"
    assert env["CLOUDGEO_WPS_SANDBOX"] == "best-effort"
    # Two QGIS workers, each with a job at its cap plus its cache and profile.
    state = next(v for v in pod["volumes"] if v["name"] == "state")
    worker = 2 * 1024**3 + 320 * 1024**2
    assert int(state["emptyDir"]["sizeLimit"]) == 2 * worker + 256 * 1024**2
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert tmp["emptyDir"]["sizeLimit"] == str(1024**3)
    resources = container["resources"]
    assert resources["limits"] == {"memory": "8Gi", "ephemeral-storage": str(
        int(state["emptyDir"]["sizeLimit"]) + 1024**3)}
    assert resources["requests"]["ephemeral-storage"] == "2Gi"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_default_node_env_asks_for_the_sandbox_and_the_default_caps():
    env = env_of(objects()[("Deployment", "geo-wps-node")]["spec"]["template"]["spec"]
                 ["containers"][0])
    assert env["CLOUDGEO_WPS_SANDBOX"] == "required"
    assert env["CLOUDGEO_WPS_MAX_JOB_SCRATCH"] == str(10 * 1024**3)
    assert env["CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE"] == ""
    assert env["CLOUDGEO_WPS_CALLBACK_HOSTS"] == "*"
    assert env["CLOUDGEO_WPS_CALLBACK_ATTEMPTS"] == "8"


def test_callback_hosts_reach_the_nodes_and_open_their_ports_at_public_addresses():
    built = objects({"wpsNodes": {"callbacks": {
        "hosts": ["hooks.example.org:8443", "http://hooks.example.org"], "attempts": 3}}})
    env = env_of(built[("Deployment", "geo-wps-node")]["spec"]["template"]["spec"]
                 ["containers"][0])
    assert env["CLOUDGEO_WPS_CALLBACK_HOSTS"] == "hooks.example.org:8443,http://hooks.example.org"
    assert env["CLOUDGEO_WPS_CALLBACK_ATTEMPTS"] == "3"
    egress = built[("NetworkPolicy", "geo-wps-node")]["spec"]["egress"]
    (outside,) = [rule for rule in egress if any("ipBlock" in p for p in rule["to"])]
    assert outside["ports"] == [{"protocol": "TCP", "port": 80},
                                {"protocol": "TCP", "port": 8443}]
    off = objects({"wpsNodes": {"callbacks": {"hosts": []}}})
    off_env = env_of(off[("Deployment", "geo-wps-node")]["spec"]["template"]["spec"]
                     ["containers"][0])
    assert off_env["CLOUDGEO_WPS_CALLBACK_HOSTS"] == ""  # the node then offers none


def test_gateway_limits_and_file_ownership_follow_the_spec():
    built = objects(SPECS["limited"])
    config = yaml.safe_load(built[("ConfigMap", "geo-gateway-config")]["data"]["dynamic.yaml"])
    middlewares = config["http"]["middlewares"]
    assert "rate-limit" not in middlewares  # average 0: off
    assert middlewares["in-flight-limit"] == {"inFlightReq": {"amount": 16}}
    files = env_of(built[("Deployment", "geo-file-service")]["spec"]["template"]["spec"]
                   ["containers"][0])
    assert files["CLOUDGEO_FILE_USER_HEADER"] == "X-CloudGeo-User"
    assert files["CLOUDGEO_FILE_OWNER_ONLY_RETRIEVAL"] == "true"
    default = objects()
    default_config = yaml.safe_load(default[("ConfigMap", "geo-gateway-config")]["data"]
                                    ["dynamic.yaml"])
    assert default_config["http"]["middlewares"]["rate-limit"]["rateLimit"]["average"] == 200
    default_files = env_of(default[("Deployment", "geo-file-service")]["spec"]["template"]
                           ["spec"]["containers"][0])
    assert "CLOUDGEO_FILE_USER_HEADER" not in default_files


def test_models_from_a_config_map_or_a_claim_are_mounted_read_only_in_every_node():
    def pod(spec=None):
        return objects(spec)[("Deployment", "geo-wps-node")]["spec"]["template"]["spec"]

    plain = pod()
    assert env_of(plain["containers"][0])["CLOUDGEO_WPS_MODELS_DIR"] == ""
    assert env_of(plain["containers"][0])["CLOUDGEO_WPS_MAX_MODEL_SIZE"] == str(1024**2)
    assert "models" not in {v["name"] for v in plain["volumes"]}
    for name, source in (("models", {"configMap": {"name": "geo-models"}}),
                         ("models-claim", {"persistentVolumeClaim": {
                             "claimName": "models", "readOnly": True}})):
        spec = pod(SPECS[name])
        container = spec["containers"][0]
        volume = next(v for v in spec["volumes"] if v["name"] == "models")
        assert {k: v for k, v in volume.items() if k != "name"} == source
        mount = next(m for m in container["volumeMounts"] if m["name"] == "models")
        assert mount["readOnly"] and "subPath" not in mount  # updates reach the node
        assert env_of(container)["CLOUDGEO_WPS_MODELS_DIR"] == mount["mountPath"]
    assert env_of(pod(SPECS["models"])["containers"][0])["CLOUDGEO_WPS_MAX_MODEL_SIZE"] == \
        "65536"
