"""The thin adapter over the Kubernetes API (kubernetes' dynamic client): I/O only."""

from __future__ import annotations

import contextlib
from typing import Any


class KubeApi:
    def __init__(self, field_manager: str, api_client=None,
                 discovery_cache: str | None = None) -> None:
        from kubernetes import client, config, dynamic

        if api_client is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            api_client = client.ApiClient()
        self.dynamic = dynamic.DynamicClient(api_client, cache_file=discovery_cache)
        self.field_manager = field_manager

    def _resource(self, api_version: str, kind: str):
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def apply(self, obj: dict[str, Any]) -> None:
        """Server-side apply: the operator owns the fields it sets, and only those."""
        self._resource(obj["apiVersion"], obj["kind"]).server_side_apply(
            body=obj, namespace=obj["metadata"].get("namespace"),
            field_manager=self.field_manager, force_conflicts=True)

    def get(self, api_version: str, kind: str, name: str,
            namespace: str) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self._resource(api_version, kind).get(name=name,
                                                         namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def create(self, obj: dict[str, Any]) -> None:
        self._resource(obj["apiVersion"], obj["kind"]).create(
            body=obj, namespace=obj["metadata"].get("namespace"))

    def list(self, api_version: str, kind: str, namespace: str,
             selector: str) -> list[dict[str, Any]]:
        found = self._resource(api_version, kind).get(namespace=namespace,
                                                      label_selector=selector)
        return [{"apiVersion": api_version, "kind": kind, **item.to_dict()}
                for item in found.items]

    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> None:
        from kubernetes.dynamic.exceptions import NotFoundError

        with contextlib.suppress(NotFoundError):
            self._resource(api_version, kind).delete(name=name, namespace=namespace)
