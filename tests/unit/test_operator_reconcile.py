"""The reconcile and the status conditions, against an in-memory double of the Kubernetes
API server (tests/support/kubernetes.py; none can run on these machines): the double keeps
objects by kind and name and answers label-selector lists, all the reconcile asks of it."""

from __future__ import annotations

import copy

from cloudgeo.operator.builders import ClusterView
from cloudgeo.operator.conditions import status_for
from cloudgeo.operator.reconcile import children, reconcile
from tests.support.kubernetes import ApiServerDouble

UID = "6f1d"


def resource(spec: dict, generation: int = 1) -> dict:
    return {"apiVersion": "cloudgeo.io/v1alpha1", "kind": "GeoProcessingCluster",
            "metadata": {"name": "geo", "namespace": "gis", "uid": UID,
                         "generation": generation}, "spec": spec}


def test_reconcile_applies_everything_and_makes_the_minio_keys_once():
    api = ApiServerDouble()
    assert reconcile(resource({}), api) == []  # nothing refused
    made = [("Secret", "geo-redis-credentials"), ("Secret", "geo-minio-credentials")]
    assert api.created == made
    assert len(api.objects[("Secret", "gis", "geo-redis-credentials")]["stringData"][
        "password"]) >= 32
    keys = api.objects[("Secret", "gis", "geo-minio-credentials")]["stringData"]
    assert len(keys["secretKey"]) >= 30
    first = list(api.applied)
    assert len(first) == 18 and not api.deleted
    api.applied.clear()
    reconcile(resource({}), api)  # resume: same objects, keys kept, nothing pruned
    assert api.applied == first and api.created == made
    assert api.objects[("Secret", "gis", "geo-minio-credentials")]["stringData"] == keys
    assert not api.deleted


def test_update_prunes_what_the_spec_no_longer_asks_for():
    api = ApiServerDouble()
    on = {"gateway": {"ingress": {"enabled": True, "host": "wps.example.org"}},
          "registry": {"type": "consul"},
          "wpsNodes": {"autoscaling": {"enabled": True}}}
    reconcile(resource(on), api)
    assert ("Ingress", "gis", "geo-gateway") in api.objects
    reconcile(resource({"wpsNodes": {"replicas": 1}}, generation=2), api)
    assert sorted(api.deleted) == [
        ("HorizontalPodAutoscaler", "geo-wps-node"), ("Ingress", "geo-gateway"),
        ("NetworkPolicy", "geo-consul"), ("PodDisruptionBudget", "geo-wps-node"),
        ("Service", "geo-consul"), ("StatefulSet", "geo-consul")]
    assert api.objects[("Deployment", "gis", "geo-wps-node")]["spec"]["replicas"] == 1


def test_objects_of_another_cluster_are_never_pruned():
    api = ApiServerDouble()
    other = copy.deepcopy(resource({"gateway": {"ingress": {"enabled": True, "host": "x"}}}))
    other["metadata"]["name"] = "other"
    reconcile(other, api)
    reconcile(resource({}), api)
    assert ("Ingress", "gis", "other-gateway") in api.objects and not api.deleted


def test_what_keda_makes_from_the_scaled_object_is_never_pruned():
    api = ApiServerDouble()
    queue = {"wpsNodes": {"autoscaling": {"enabled": True, "queue": {"enabled": True}}}}
    reconcile(resource(queue), api)
    assert ("ScaledObject", "gis", "geo-wps-node") in api.objects
    # KEDA's HorizontalPodAutoscaler carries the ScaledObject's labels, owner KEDA's.
    labels = api.objects[("ScaledObject", "gis", "geo-wps-node")]["metadata"]["labels"]
    api.objects[("HorizontalPodAutoscaler", "gis", "keda-hpa-geo-wps-node")] = {
        "kind": "HorizontalPodAutoscaler", "metadata": {
            "name": "keda-hpa-geo-wps-node", "namespace": "gis", "labels": labels,
            "ownerReferences": [{"kind": "ScaledObject", "uid": "keda-made"}]}}
    reconcile(resource(queue, generation=2), api)
    assert not api.deleted
    reconcile(resource({"wpsNodes": {"autoscaling": {"enabled": True}}}, generation=3), api)
    assert sorted(api.deleted) == [("ScaledObject", "geo-wps-node"),
                                   ("TriggerAuthentication", "geo-job-queue")]


def ready(obj: dict, replicas: int | None = None) -> None:
    want = obj["spec"].get("replicas", 1) if replicas is None else replicas
    obj["metadata"]["generation"] = 1
    obj["status"] = {"observedGeneration": 1, "replicas": want, "readyReplicas": want,
                     "updatedReplicas": want}


def test_conditions_follow_the_children_and_keep_transition_times():
    api = ApiServerDouble()
    body = resource({"registry": {"type": "consul"}})
    reconcile(body, api)
    view = ClusterView.of(body)
    status = status_for(view, children(view, api), {}, "2026-11-28T10:00:00Z", [])
    by_type = {c["type"]: c for c in status["conditions"]}
    assert by_type["Ready"]["status"] == "False"
    assert by_type["WpsNodesReady"]["reason"] == "Unavailable"
    assert by_type["WpsNodesReady"]["message"] == "0/3 pods ready"
    assert status["readyNodes"] == 0

    for (kind, _, name), obj in api.objects.items():
        if kind in ("Deployment", "StatefulSet") and name != "geo-wps-node":
            ready(obj)
    nodes = api.objects[("Deployment", "gis", "geo-wps-node")]
    ready(nodes, 2)
    later = status_for(view, children(view, api), status, "2026-11-28T10:01:00Z", [])
    by_type = {c["type"]: c for c in later["conditions"]}
    assert by_type["GatewayReady"] == {
        "type": "GatewayReady", "status": "True", "reason": "Available",
        "message": "1/1 pods ready", "observedGeneration": 1,
        "lastTransitionTime": "2026-11-28T10:01:00Z"}
    assert by_type["Ready"]["message"] == "not ready: WpsNodesReady"
    assert by_type["Ready"]["lastTransitionTime"] == "2026-11-28T10:00:00Z"  # still False
    assert later["readyNodes"] == 2

    ready(nodes)
    done = status_for(view, children(view, api), later, "2026-11-28T10:02:00Z", [])
    by_type = {c["type"]: c for c in done["conditions"]}
    assert by_type["Ready"]["status"] == "True"
    assert by_type["Ready"]["lastTransitionTime"] == "2026-11-28T10:02:00Z"
    assert by_type["GatewayReady"]["lastTransitionTime"] == "2026-11-28T10:01:00Z"
    assert by_type["RegistryReady"]["reason"] == "Available"
    assert done["readyNodes"] == done["nodes"] == 3


def test_a_rollout_in_progress_is_not_ready():
    api = ApiServerDouble()
    body = resource({})
    reconcile(body, api)
    for (kind, _, _), obj in api.objects.items():
        if kind in ("Deployment", "StatefulSet"):
            ready(obj)
    api.objects[("Deployment", "gis", "geo-gateway")]["metadata"]["generation"] = 2
    view = ClusterView.of(body)
    status = status_for(view, children(view, api), {}, "t", [])
    gateway = next(c for c in status["conditions"] if c["type"] == "GatewayReady")
    assert (gateway["status"], gateway["reason"]) == ("False", "Progressing")


def test_a_refused_object_is_named_and_the_rest_still_applied():
    """The server refuses one Deployment (say, a memory request above its limit): the
    reconcile goes on with every other object, the status names the refusal, Ready is
    False and observedGeneration stays at the generation last applied in full."""
    api = ApiServerDouble()
    reconcile(resource({}), api)
    for (kind, _, _), obj in api.objects.items():
        if kind in ("Deployment", "StatefulSet"):
            ready(obj)
    view = ClusterView.of(resource({}))
    applied = status_for(view, children(view, api), {}, "t0", [])
    assert applied["observedGeneration"] == 1
    api.applied.clear()
    api.refusing[("Deployment", "geo-wps-node")] = "spec.template...: must be less than " \
                                                   "or equal to memory limit"
    bad = resource({"wpsNodes": {"resources": {"requests": {"memory": "8Gi"}}}}, generation=2)
    refused = reconcile(bad, api)
    assert refused == ["Deployment geo-wps-node: spec.template...: must be less than or "
                       "equal to memory limit"]
    assert ("Deployment", "geo-gateway") in api.applied  # applied after the refusal
    assert ("Deployment", "geo-wps-node") not in api.applied
    status = status_for(ClusterView.of(bad), children(view, api), applied, "t1", refused)
    by_type = {c["type"]: c for c in status["conditions"]}
    assert status["observedGeneration"] == 1
    assert by_type["Reconciled"]["status"] == "False"
    assert by_type["Reconciled"]["reason"] == "ApplyRefused"
    assert "geo-wps-node" in by_type["Reconciled"]["message"]
    assert "generation 2" in by_type["Reconciled"]["message"]
    assert by_type["Ready"]["status"] == "False"
    assert {c["observedGeneration"] for c in status["conditions"]} == {1}


def test_events_only_for_transitions():
    from cloudgeo.operator.events import transition_events

    def status(reconciled: str, ready: str, message: str = "m") -> dict:
        return {"conditions": [{"type": "Reconciled", "status": reconciled, "reason": "r",
                                "message": message},
                               {"type": "Ready", "status": ready, "reason": "r",
                                "message": "x"}]}
    assert [e["reason"] for e in transition_events({}, status("True", "False"))] == [
        "r", "NotReady"]
    assert transition_events(status("True", "False"), status("True", "False")) == []
    went_ready = transition_events(status("True", "False"), status("True", "True"))
    assert [(e["type"], e["reason"]) for e in went_ready] == [("Normal", "Ready")]
    refused = transition_events(status("True", "True"), status("False", "False", "no"))
    assert [(e["type"], e["note"]) for e in refused] == [("Warning", "no"),
                                                         ("Warning", "x")]


def test_the_sync_writes_the_status_only_when_it_changed(monkeypatch):
    """handlers.sync, as kopf's handlers and the resync call it, with the API server
    double in place of the cluster."""
    from cloudgeo.operator import handlers

    api = ApiServerDouble()
    patched, events = [], []
    api.patch_status = lambda obj, status: patched.append(status)
    api.post_event = lambda obj, **event: events.append(event)
    monkeypatch.setattr(handlers, "api", lambda: api)
    body = resource({"wpsNodes": {"replicas": 2}}, generation=3)
    handlers.sync(body)
    assert api.objects[("Deployment", "gis", "geo-wps-node")]["spec"]["replicas"] == 2
    assert patched[-1]["observedGeneration"] == 3
    assert [e["reason"] for e in events] == ["Applied", "NotReady"]

    for (kind, _, _), obj in api.objects.items():
        if kind in ("Deployment", "StatefulSet"):
            ready(obj)
    handlers.sync({**body, "status": patched[-1]})
    status = patched[-1]
    assert status["readyNodes"] == status["nodes"] == 2
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    assert events[-1]["reason"] == "Ready"
    # Nothing changed since: nothing written, no event.
    count, event_count = len(patched), len(events)
    handlers.sync({**body, "status": status})
    assert len(patched) == count and len(events) == event_count
