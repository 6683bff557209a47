"""kopf handlers: thin, everything they decide is in reconcile.py and conditions.py.

Run with `kopf run --standalone --all-namespaces -m cloudgeo.operator.handlers` (what
the operator image does). Level-triggered, as Kubernetes controllers are: any change of
a GeoProcessingCluster, or of a Deployment, StatefulSet or Service it owns, and a resync
of every resource each CLOUDGEO_OPERATOR_STATUS_INTERVAL seconds, run the same sync
(apply the spec, prune, write the status if it changed). So a child scaled or deleted
by hand is put back, and a restart of the operator writes nothing.

No finalizer: children are owned by the resource (ownerReferences set by the builders),
so Kubernetes' garbage collector removes them and a deletion never waits for the
operator; the PersistentVolumeClaims of Redis and MinIO follow
spec.volumeClaimDeletePolicy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from typing import Any

import kopf

from cloudgeo.operator.builders import ClusterView
from cloudgeo.operator.builders.common import MANAGED_BY
from cloudgeo.operator.conditions import now_iso, status_for
from cloudgeo.operator.crd import API_VERSION, GROUP, KIND, PLURAL, VERSION
from cloudgeo.operator.events import transition_events
from cloudgeo.operator.kubeapi import KubeApi
from cloudgeo.operator.reconcile import children, reconcile
from cloudgeo.operator.settings import OperatorSettings

LOG = logging.getLogger("cloudgeo.operator")
OWNED = {"app.kubernetes.io/managed-by": MANAGED_BY}


@functools.cache
def settings() -> OperatorSettings:
    """Read once, on first use: importing the handlers reads nothing."""
    return OperatorSettings.from_env()


@functools.cache
def api() -> KubeApi:
    return KubeApi(settings().field_manager,
                   absent_kind_recheck=settings().absent_kind_recheck)


def sync(resource: dict[str, Any]) -> None:
    """Applies the spec and writes the status when it changed (then only)."""
    cluster = ClusterView.of(resource)
    refused = reconcile(resource, api())
    previous = resource.get("status") or {}
    status = status_for(cluster, children(cluster, api()), previous, now_iso(), refused)
    if any(previous.get(k) != v for k, v in status.items()):
        api().patch_status(resource, status)
        for event in transition_events(previous, status):
            LOG.info("%s/%s: %s", cluster.namespace, cluster.name, event["note"])
            try:
                api().post_event(resource, **event)
            except Exception:  # an Event is worth a log line, not a failed sync
                LOG.warning("could not post an Event", exc_info=True)


class Syncs:
    """One sync at a time per resource; a change seen meanwhile runs it once more."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[tuple[str, str]] = set()
        self.again: set[tuple[str, str]] = set()

    def run(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        with self.lock:
            if key in self.running:
                self.again.add(key)
                return
            self.running.add(key)
        try:
            while True:
                resource = api().get(API_VERSION, KIND, name, namespace)  # fresh
                if resource and not resource["metadata"].get("deletionTimestamp"):
                    sync(resource)
                with self.lock:
                    if key not in self.again:
                        self.running.discard(key)
                        return
                    self.again.discard(key)
        except BaseException:
            with self.lock:
                self.running.discard(key)
                self.again.discard(key)
            raise


SYNCS = Syncs()


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # The finalizer an earlier version added: kopf takes it off, none is needed now.
    settings.persistence.finalizer = "cloudgeo.io/operator"
    settings.posting.loggers = True  # kopf's own messages (a failing handler) as Events
    settings.posting.level = logging.WARNING
    memo.resync = asyncio.create_task(resync_forever())


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    memo.resync.cancel()


@kopf.on.event(GROUP, VERSION, PLURAL)
def cluster_changed(type: str, body: kopf.Body, **_: Any) -> None:
    if type != "DELETED":
        SYNCS.run(body.metadata.namespace, body.metadata.name)


@kopf.on.event("apps", "v1", "deployments", labels=OWNED)
@kopf.on.event("apps", "v1", "statefulsets", labels=OWNED)
@kopf.on.event("", "v1", "services", labels=OWNED)
def child_changed(body: kopf.Body, **_: Any) -> None:
    owner = body.metadata.labels.get("app.kubernetes.io/instance")
    if owner:
        SYNCS.run(body.metadata.namespace, owner)


def resync_all() -> None:
    for namespace in settings().namespaces or (None,):
        for resource in api().list(API_VERSION, KIND, namespace):
            SYNCS.run(resource["metadata"]["namespace"], resource["metadata"]["name"])


async def resync_forever() -> None:
    while True:
        await asyncio.sleep(settings().status_interval)
        try:
            await asyncio.to_thread(resync_all)
        except Exception:  # the next round tries again; one failure never stops it
            LOG.exception("resync failed")
