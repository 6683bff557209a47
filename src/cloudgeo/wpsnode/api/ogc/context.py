"""What the OGC API's routes share beyond the job service, reached from a route through
the app (create_app puts it in app.extensions, built by ogc_api)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.wpsnode.builtin import BuiltinProcess
from cloudgeo.wpsnode.jobs.models import ModelDeployments
from cloudgeo.wpsnode.jobs.service import JobService

KEY = "cloudgeo.ogcapi"


@dataclass(frozen=True)
class OgcApi:
    service: JobService
    store: ObjectStore  # where results are read from (the job service only removes them)
    # Plain-Python processes (cloudgeo.wpsnode.builtin): published here only.
    builtins: dict[str, BuiltinProcess]
    builtin_entries: dict[str, dict[str, Any]]
    # Part 2 (deploy, replace, undeploy): None without a job store to keep models in.
    deployments: ModelDeployments | None = None
    # Part 2 is declared where administrators are known (authentication on).
    deployments_offered: bool = False

    def listed(self) -> list[dict[str, Any]]:
        # Models and scripts come and go while the node runs: read at each request.
        return [*self.service.catalog.processes.values(), *self.builtin_entries.values()]

    def lookup(self, process_id: str) -> dict[str, Any]:
        """A published process as the catalogue describes it (a builtin's entry too)."""
        if process_id in self.builtin_entries:
            return self.builtin_entries[process_id]
        return self.service.catalog.get(process_id)


def ogc_api(service: JobService, store: ObjectStore) -> OgcApi:
    """The OGC API's state over the node's job service; `store`: where results are read
    from (the job service only removes them)."""
    builtins = service.settings.builtins()
    deployments = ModelDeployments(service.catalogs, service.settings.max_model_size,
                                   service.settings.state_dir) \
        if service.catalogs is not None and service.catalogs.deployed is not None else None
    return OgcApi(service, store, builtins,
                  {pid: builtin.catalog_entry() for pid, builtin in builtins.items()},
                  deployments, bool(deployments and service.settings.authenticated
                                    and service.settings.admins))


def ogc() -> OgcApi:
    return current_app.extensions[KEY]
