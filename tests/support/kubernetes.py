"""An in-memory double of the Kubernetes API server, for the unit tests of the
reconcile's logic (the real API server runs in tests/e2e/test_control_plane.py):
objects kept by (kind, namespace, name), label-selector lists, a record of what was
applied, created and deleted, and refusals planted by a test."""

from __future__ import annotations

import copy

from cloudgeo.operator.reconcile import Refused


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
        self.refusing: dict[tuple[str, str], str] = {}  # (kind, name) -> server message

    @staticmethod
    def _key(obj: dict) -> tuple[str, str, str]:
        return obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]

    def apply(self, obj: dict) -> None:
        if (obj["kind"], obj["metadata"]["name"]) in self.refusing:
            raise Refused(obj["kind"], obj["metadata"]["name"],
                          self.refusing[obj["kind"], obj["metadata"]["name"]])
        self.applied.append((obj["kind"], obj["metadata"]["name"]))
        kept = self.objects.get(self._key(obj), {})
        self.objects[self._key(obj)] = copy.deepcopy(obj)
        if "status" in kept:  # as a real server: apply of the spec leaves the status
            self.objects[self._key(obj)]["status"] = kept["status"]
            self.objects[self._key(obj)]["metadata"]["generation"] = \
                kept["metadata"].get("generation", 0)

    def create(self, obj: dict) -> None:
        if self._key(obj) in self.objects:
            raise AssertionError(f"{self._key(obj)} already exists")
        self.created.append((obj["kind"], obj["metadata"]["name"]))
        self.objects[self._key(obj)] = copy.deepcopy(obj)

    def create_if_absent(self, obj: dict) -> bool:
        if self._key(obj) in self.objects:
            return False
        self.create(obj)
        return True

    def get(self, api_version, kind, name, namespace):
        return self.objects.get((kind, namespace, name))

    def list(self, api_version, kind, namespace, selector):
        return [o for (k, ns, _), o in self.objects.items() if k == kind and ns == namespace
                and selected(selector, o["metadata"].get("labels", {}))]

    def delete(self, api_version, kind, name, namespace):
        self.deleted.append((kind, name))
        self.objects.pop((kind, namespace, name), None)
