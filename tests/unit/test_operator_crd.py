"""The GeoProcessingCluster CRD: a valid CustomResourceDefinition whose schema admits the
samples and refuses bad resources with the reason (admission reproduced offline by
tests/support/crd.py, since no API server runs here)."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from cloudgeo.operator.crd import crd_manifest
from cloudgeo.operator.install import sample_cluster
from tests.support.crd import admit


@pytest.mark.parametrize("version", ["1.27.0", "1.30.0", "1.37.0"])
def test_crd_is_a_valid_custom_resource_definition(version):
    kubernetes_validate.validate(crd_manifest(), version, strict=True)


def test_crd_has_printer_columns_scale_and_status_subresources():
    version = crd_manifest()["spec"]["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Ready", "Nodes", "Gateway", "Age"]
    assert version["subresources"]["scale"]["specReplicasPath"] == ".spec.wpsNodes.replicas"
    assert "status" in version["subresources"]


def test_an_empty_spec_gets_every_default():
    stored = admit({"apiVersion": "cloudgeo.io/v1alpha1", "kind": "GeoProcessingCluster",
                    "metadata": {"name": "geo"}, "spec": {}})
    spec = stored["spec"]
    assert spec["wpsNodes"]["replicas"] == 3 and spec["wpsNodes"]["qgisWorkers"] == 2
    assert spec["wpsNodes"]["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    assert spec["objectStorage"] == {
        "type": "minio", "bucket": "cloudgeo",
        "minio": {"image": spec["objectStorage"]["minio"]["image"],
                  "resources": spec["objectStorage"]["minio"]["resources"],
                  "persistence": {"enabled": True, "size": "10Gi"}},
        "seaweedfs": {"image": "cloudgeo/seaweedfs:0.1.0",
                      "resources": spec["objectStorage"]["seaweedfs"]["resources"],
                      "persistence": {"enabled": True, "size": "10Gi"}},
        "external": {"region": "us-east-1", "secure": True}}
    assert spec["registry"]["type"] == "redis"
    assert spec["gateway"]["ingress"]["enabled"] is False
    assert spec["volumeClaimDeletePolicy"] == "Retain"


def test_the_sample_and_a_full_spec_are_admitted():
    admit(sample_cluster())
    full = sample_cluster()
    full["spec"] = {
        "wpsNodes": {"replicas": 10, "qgisWorkers": 8, "image": "registry.example/wps:1",
                     "resources": {"requests": {"cpu": 2, "memory": "4Gi"}},
                     "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 20}},
        "gateway": {"serviceType": "LoadBalancer",
                    "ingress": {"enabled": True, "host": "wps.example.org",
                                "className": "nginx", "tlsSecretName": "tls"}},
        "objectStorage": {"type": "external", "external": {
            "endpoint": "s3.example.org:443", "credentialsSecret": "keys"}},
        "redis": {"persistence": {"size": "5Gi", "storageClassName": "fast"}},
        "registry": {"type": "consul"}, "volumeClaimDeletePolicy": "Delete",
    }
    assert admit(full)["spec"]["wpsNodes"]["autoscaling"]["targetCPUUtilizationPercentage"] == 70


@pytest.mark.parametrize("change, reason", [
    ({"wpsNodes": {"replicas": -1}}, "-1 is less than the minimum of 0"),
    ({"wpsNodes": {"qgisWorkers": 0}}, "0 is less than the minimum of 1"),
    ({"wpsNodes": {"replicas": "three"}}, "'three' is not of type 'integer'"),
    ({"registry": {"type": "etcd"}}, "'etcd' is not one of ['redis', 'consul']"),
    ({"gateway": {"serviceType": "Public"}}, "'Public' is not one of"),
    ({"gateway": {"publicURL": "javascript:alert(1)//x"}}, "does not match"),
    ({"objectStorage": {"type": "ceph"}},
     "'ceph' is not one of ['minio', 'seaweedfs', 'external']"),
    ({"wpsNodes": {"imagePullPolicy": "Sometimes"}}, "'Sometimes' is not one of"),
    ({"wpsNodes": {"resources": {"requests": {"memory": "lots"}}}}, "does not match"),
    ({"gateway": {"ingress": {"enabled": True}}},
     "ingress.host is required when the ingress is enabled"),
    ({"objectStorage": {"type": "external"}},
     "objectStorage.external.endpoint and credentialsSecret are required"),
    ({"wpsNodes": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}},
     "minReplicas must not exceed maxReplicas"),
])
def test_bad_resources_are_refused_with_the_reason(change, reason):
    resource = sample_cluster()
    resource["spec"] = change
    with pytest.raises(ValueError) as refused:
        admit(resource)
    assert reason in str(refused.value)


@pytest.mark.parametrize("field, old, new", [
    ("type", "minio", "external"), ("bucket", "cloudgeo", "other")])
def test_object_storage_type_and_bucket_cannot_change(field, old, new):
    before = sample_cluster()
    before["spec"]["objectStorage"] = {"type": "external", "external": {
        "endpoint": "s3:443", "credentialsSecret": "k"}, field: old}
    after = copy.deepcopy(before)
    after["spec"]["objectStorage"][field] = new
    admit(after)  # a new resource may say either
    with pytest.raises(ValueError, match=f"objectStorage.{field} cannot be changed"):
        admit(after, old=before)
    admit(before, old=before)  # an unchanged value passes


def undocumented(schema: dict, path: str):
    for name, prop in (schema.get("properties") or {}).items():
        here = f"{path}.{name}"
        if not prop.get("description"):
            yield here
        yield from undocumented(prop, here)
    if "items" in schema:
        yield from undocumented(schema["items"], f"{path}[]")


def test_every_spec_field_has_a_description_for_kubectl_explain():
    schema = crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert list(undocumented(schema["properties"]["spec"], "spec")) == []
    planted = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert list(undocumented(planted, "spec")) == ["spec.a"]  # the check itself can fail
