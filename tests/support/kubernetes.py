"""An in-memory double of the Kubernetes API server (none can run on these machines):
objects kept by (kind, namespace, name), label-selector lists, and a record of what was
applied, created and deleted. The operator's reconcile talks to it directly; the HTTP
double in test_kubeapi keeps its objects here too."""

from __future__ import annotations

import copy


def selected(selector: str, labels: dict[str, str]) -> bool:
    """Whether `labels` match an equality-based selector ("a=1,b=2")."""
    wanted = dict(pair.split("=", 1) for pair in selector.split(",") if pair)
    return wanted.items() <= labels.items()


class ApiServerDouble:
    """A test double of the API server: objects by (kind, namespace, name)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.applied: list[tuple[str, str]] = []
        self.created: list[tuple[str, str]] = []
        self.deleted: list[tuple[str, str]] = []

    @staticmethod
    def _key(obj: dict) -> tuple[str, str, str]:
        return obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]

    def apply(self, obj: dict) -> None:
        self.applied.append((obj["kind"], obj["metadata"]["name"]))
        self.objects[self._key(obj)] = copy.deepcopy(obj)

    def create(self, obj: dict) -> None:
        if self._key(obj) in self.objects:
            raise AssertionError(f"{self._key(obj)} already exists")
        self.created.append((obj["kind"], obj["metadata"]["name"]))
        self.objects[self._key(obj)] = copy.deepcopy(obj)

    def get(self, api_version, kind, name, namespace):
        return self.objects.get((kind, namespace, name))

    def list(self, api_version, kind, namespace, selector):
        return [o for (k, ns, _), o in self.objects.items() if k == kind and ns == namespace
                and selected(selector, o["metadata"].get("labels", {}))]

    def delete(self, api_version, kind, name, namespace):
        self.deleted.append((kind, name))
        self.objects.pop((kind, namespace, name), None)
