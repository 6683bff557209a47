"""A test double of a kubelet (and of a volume provisioner): registers one Node, keeps
its Lease and Ready condition fresh, reports every pod bound to it Running and Ready,
finishes the deletion of pods being deleted, and makes a PersistentVolume (hostPath,
never written) for each claim waiting for one. No container runs: the pods are API
objects only. Everything above (scheduler, controllers, PV binder, garbage collector,
endpoints) is real.
"""

from __future__ import annotations

import contextlib
import datetime
import threading

from kubernetes import client
from kubernetes.client.exceptions import ApiException

NODE = "agent-node"
HEARTBEAT_SECONDS = 10


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running_status(pod: client.V1Pod, ip: str) -> dict:
    """The status a kubelet reports for a pod whose containers all started and pass
    their readiness probes."""
    now = _now()
    started = {"running": {"startedAt": now}}
    return {
        "phase": "Running", "hostIP": "127.0.0.1", "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": now,
        "conditions": [{"type": kind, "status": "True", "lastTransitionTime": now}
                       for kind in ("PodScheduled", "Initialized", "ContainersReady",
                                    "Ready")],
        "initContainerStatuses": [
            {"name": c.name, "image": c.image, "imageID": "", "ready": True,
             "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason":
                                                         "Completed"}}}
            for c in pod.spec.init_containers or []],
        "containerStatuses": [
            {"name": c.name, "image": c.image, "imageID": "", "ready": True,
             "started": True, "restartCount": 0, "state": started}
            for c in pod.spec.containers],
    }


class NodeAgent:
    """Runs on a thread until stop()."""

    def __init__(self, api_client: client.ApiClient, interval: float = 0.5) -> None:
        self.core = client.CoreV1Api(api_client)
        self.leases = client.CoordinationV1Api(api_client)
        self.interval = interval
        self.stopping = threading.Event()
        self.addresses: dict[str, str] = {}
        self.thread = threading.Thread(target=self._loop, name="node-agent", daemon=True)
        self.errors: list[str] = []

    def start(self) -> NodeAgent:
        self.core.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": NODE, "labels": {"kubernetes.io/hostname": NODE,
                                     "kubernetes.io/os": "linux"}}})
        self._heartbeat()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)

    def _heartbeat(self) -> None:
        now = _now()
        self.core.patch_node_status(NODE, {"status": {
            # A kubelet reports its disk too: pods that request ephemeral-storage (the
            # WPS nodes do) are scheduled only on nodes that have it.
            "capacity": {"cpu": "16", "memory": "64Gi", "pods": "220",
                         "ephemeral-storage": "200Gi"},
            "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "220",
                            "ephemeral-storage": "200Gi"},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": NODE}],
            "nodeInfo": {"kubeletVersion": "v1.36.3", "operatingSystem": "linux",
                         "architecture": "amd64", "containerRuntimeVersion": "none://0",
                         "kernelVersion": "", "osImage": "node agent (test double)",
                         "kubeProxyVersion": "", "machineID": "", "systemUUID": "",
                         "bootID": ""},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "node agent (test double)",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}]}})
        micro = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease = {"metadata": {"name": NODE, "namespace": "kube-node-lease"},
                 "spec": {"holderIdentity": NODE, "leaseDurationSeconds": 40,
                          "renewTime": micro}}
        try:
            self.leases.replace_namespaced_lease(NODE, "kube-node-lease", lease)
        except ApiException as exc:
            if exc.status != 404:
                raise
            self.leases.create_namespaced_lease("kube-node-lease", lease)

    def _loop(self) -> None:
        beat = 0.0
        while not self.stopping.wait(self.interval):
            try:
                beat += self.interval
                if beat >= HEARTBEAT_SECONDS:
                    beat = 0.0
                    self._heartbeat()
                self._tend_pods()
                self._provision_claims()
            except Exception as exc:  # keep tending: a conflict is retried next round
                self.errors.append(repr(exc))

    def _tend_pods(self) -> None:
        pods = self.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={NODE}")
        for pod in pods.items:
            meta = pod.metadata
            if meta.deletion_timestamp is not None:
                with contextlib.suppress(ApiException):
                    self.core.delete_namespaced_pod(meta.name, meta.namespace,
                                                    grace_period_seconds=0)
                continue
            if pod.status.phase == "Running":
                continue
            ip = self.addresses.setdefault(meta.uid, f"10.244.0.{len(self.addresses) % 250 + 2}")
            self.core.patch_namespaced_pod_status(meta.name, meta.namespace,
                                                  {"status": running_status(pod, ip)})

    def _provision_claims(self) -> None:
        claims = self.core.list_persistent_volume_claim_for_all_namespaces()
        for claim in claims.items:
            if claim.spec.volume_name or claim.status.phase != "Pending":
                continue
            meta = claim.metadata
            name = f"pv-{meta.uid}"
            with contextlib.suppress(ApiException):  # made already: the binder is on it
                self.core.create_persistent_volume({
                    "apiVersion": "v1", "kind": "PersistentVolume",
                    "metadata": {"name": name, "labels": {"made-by": "node-agent"}},
                    "spec": {"capacity": claim.spec.resources.requests,
                             "accessModes": claim.spec.access_modes,
                             "storageClassName": claim.spec.storage_class_name or "",
                             "persistentVolumeReclaimPolicy": "Retain",
                             "hostPath": {"path": f"/nonexistent/node-agent/{name}"},
                             "claimRef": {"namespace": meta.namespace, "name": meta.name,
                                          "uid": meta.uid}}})
