"""What the OGC API's routes share beyond the job service, reached from a route through
the app (the blueprint puts it in app.extensions when registered)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode.builtin import BuiltinProcess
from cloudgeo.wpsnode.jobs.service import JobService

KEY = "cloudgeo.ogcapi"


@dataclass(frozen=True)
class OgcApi:
    service: JobService
    store: ObjectStore  # where results are read from (the job service only removes them)
    # Plain-Python processes (cloudgeo.wpsnode.builtin): published here only.
    builtins: dict[str, BuiltinProcess]
    builtin_entries: dict[str, dict[str, Any]]

    def listed(self) -> list[dict[str, Any]]:
        # Models and scripts come and go while the node runs: read at each request.
        return [*self.service.catalog.processes.values(), *self.builtin_entries.values()]

    def lookup(self, process_id: str) -> dict[str, Any]:
        """A published process as the catalogue describes it (a builtin's entry too)."""
        if process_id in self.builtin_entries:
            return self.builtin_entries[process_id]
        return self.service.catalog.get(process_id)


def ogc() -> OgcApi:
    return current_app.extensions[KEY]
