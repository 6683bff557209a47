"""The thin adapter over the Kubernetes API (kubernetes' dynamic client): I/O only."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from cloudgeo.operator.reconcile import Refused

# Refusals of the object itself; everything else (401, 403 on RBAC, 404 of the kind,
# 409 on a conflict, 429, 5xx) is raised as it is, and the caller retries later.
REFUSING = {400, 422}


def _server_message(exc: Exception) -> str:
    try:
        return json.loads(exc.body)["message"]  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError, KeyError):
        return str(exc)


class KubeApi:
    def __init__(self, field_manager: str, api_client=None,
                 discovery_cache: str | None = None, absent_kind_recheck: float = 60.0
                 ) -> None:
        from kubernetes import client, config, dynamic

        if api_client is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            api_client = client.ApiClient()
        self.dynamic = dynamic.DynamicClient(api_client, cache_file=discovery_cache)
        self.field_manager = field_manager
        self.absent_kind_recheck = absent_kind_recheck
        self._absent_since: dict[tuple[str, str], float] = {}

    def _resource(self, api_version: str, kind: str):
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def _served(self, api_version: str, kind: str):
        """The kind's resource, or None where the server lacks it (KEDA's, for one, only
        where KEDA is installed).
        A miss makes the client discover every API group again, so an absent kind is
        looked up again only every `absent_kind_recheck` seconds, not on every reconcile."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        since = self._absent_since.get((api_version, kind))
        if since is not None and time.monotonic() - since < self.absent_kind_recheck:
            return None
        try:
            resource = self._resource(api_version, kind)
        except ResourceNotFoundError:
            self._absent_since[api_version, kind] = time.monotonic()
            return None
        self._absent_since.pop((api_version, kind), None)
        return resource

    def apply(self, obj: dict[str, Any]) -> None:
        """Server-side apply: the operator owns the fields it sets, and only those (and
        takes them back from whoever changed them: `kubectl scale` of a child)."""
        from kubernetes.dynamic.exceptions import DynamicApiError

        resource = self._served(obj["apiVersion"], obj["kind"])
        if resource is None:
            raise Refused(obj["kind"], obj["metadata"]["name"],
                          f"the API server does not serve {obj['apiVersion']} {obj['kind']} "
                          "(its CustomResourceDefinition is not installed)")
        try:
            # Strict: a field the server would drop is a builder's bug, not to be hidden.
            resource.server_side_apply(
                body=obj, namespace=obj["metadata"].get("namespace"),
                field_manager=self.field_manager, force_conflicts=True,
                query_params=[("fieldValidation", "Strict")])
        except DynamicApiError as exc:
            if exc.status in REFUSING:
                raise Refused(obj["kind"], obj["metadata"]["name"],
                              _server_message(exc)) from exc
            raise

    def get(self, api_version: str, kind: str, name: str,
            namespace: str) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self._resource(api_version, kind).get(name=name,
                                                         namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def create_if_absent(self, obj: dict[str, Any]) -> bool:
        """Creates `obj` unless one of its name exists; True when it made it."""
        from kubernetes.dynamic.exceptions import ConflictError

        try:
            self._resource(obj["apiVersion"], obj["kind"]).create(
                body=obj, namespace=obj["metadata"].get("namespace"))
        except ConflictError:
            return False
        return True

    def list(self, api_version: str, kind: str, namespace: str | None,
             selector: str = "") -> list[dict[str, Any]]:
        """Objects of a kind in a namespace (every namespace when None); none of a kind
        the server does not serve."""
        resource = self._served(api_version, kind)
        if resource is None:
            return []
        found = resource.get(namespace=namespace, label_selector=selector)
        return [{"apiVersion": api_version, "kind": kind, **item.to_dict()}
                for item in found.items]

    def patch_status(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        resource = self._resource(obj["apiVersion"], obj["kind"])
        resource.status.patch(body={"status": status}, name=obj["metadata"]["name"],
                              namespace=obj["metadata"]["namespace"],
                              content_type="application/merge-patch+json")

    def post_event(self, regarding: dict[str, Any], type: str, reason: str,
                   note: str) -> None:
        """An events.k8s.io/v1 Event about `regarding` (what `kubectl describe` lists)."""
        meta = regarding["metadata"]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._resource("events.k8s.io/v1", "Event").create(namespace=meta["namespace"], body={
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"]},
            "eventTime": now, "type": type, "reason": reason, "note": note[:1024],
            "action": "Reconcile", "reportingController": "cloudgeo.io/operator",
            "reportingInstance": self.field_manager,
            "regarding": {"apiVersion": regarding["apiVersion"], "kind": regarding["kind"],
                          "name": meta["name"], "namespace": meta["namespace"],
                          "uid": meta.get("uid", "")}})

    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> None:
        from kubernetes.dynamic.exceptions import NotFoundError

        with contextlib.suppress(NotFoundError):
            self._resource(api_version, kind).delete(name=name, namespace=namespace)
