"""kopf handlers: thin, everything they decide is in reconcile.py and conditions.py.

Run with `kopf run --standalone --all-namespaces -m cloudgeo.operator.handlers` (what
the operator image does). Children are owned by the resource (ownerReferences set by
the builders), so deleting it lets Kubernetes' garbage collector remove them; the
PersistentVolumeClaims of Redis and MinIO follow spec.volumeClaimDeletePolicy.
"""

from __future__ import annotations

import functools
from typing import Any

import kopf

from cloudgeo.operator.builders import ClusterView
from cloudgeo.operator.conditions import now_iso, status_for
from cloudgeo.operator.crd import GROUP, PLURAL, VERSION
from cloudgeo.operator.kubeapi import KubeApi
from cloudgeo.operator.reconcile import children, reconcile
from cloudgeo.operator.settings import OperatorSettings

SETTINGS = OperatorSettings.from_env()


@functools.cache
def api() -> KubeApi:
    return KubeApi(SETTINGS.field_manager)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Progress in annotations, not in status (the CRD's status schema has no room for it).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="cloudgeo.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="cloudgeo.io", key="last-handled-configuration")
    settings.persistence.finalizer = "cloudgeo.io/operator"
    settings.posting.level = 20  # INFO and above as Kubernetes events


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
@kopf.on.resume(GROUP, VERSION, PLURAL)
def apply_spec(body: kopf.Body, patch: kopf.Patch, logger, **_: Any) -> None:
    status = reconcile(dict(body), api())
    patch.status.update(status)
    logger.info(f"applied generation {status['observedGeneration']}")


@kopf.timer(GROUP, VERSION, PLURAL, interval=SETTINGS.status_interval, idle=0,
            initial_delay=2)
def refresh_status(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    cluster = ClusterView.of(dict(body))
    previous = (body.get("status") or {}).get("conditions") or []
    status = status_for(cluster, children(cluster, api()), previous, now_iso())
    if status != {k: (body.get("status") or {}).get(k) for k in status}:
        patch.status.update(status)
