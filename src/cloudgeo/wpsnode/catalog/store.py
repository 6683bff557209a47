"""The catalogue of published process descriptions, loaded from the JSON QGIS produced.

The JSON describes every algorithm; what a node publishes is decided once, here at
load, by the publication policy (cloudgeo.wpsnode.catalog.policy). Every API and
the QGIS workers read only the published descriptions, so a withheld algorithm is
unknown everywhere alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudgeo.wpsnode.catalog.policy import Decision, PublicationPolicy


class UnknownProcess(KeyError):
    pass


@dataclass(frozen=True)
class Catalog:
    qgis_version: str
    processes: dict[str, dict[str, Any]]
    decisions: dict[str, Decision] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, policy: PublicationPolicy | None = None) -> Catalog:
        document = json.loads(Path(path).read_text())
        every = {p["id"]: p for p in document["processes"]}
        published, decisions = (policy or PublicationPolicy()).published(every)
        return cls(document["qgisVersion"], published, decisions)

    def get(self, identifier: str) -> dict[str, Any]:
        try:
            return self.processes[identifier]
        except KeyError:
            raise UnknownProcess(identifier) from None

    def overridden(self) -> dict[str, str]:
        """Withheld-by-default algorithms an operator published anyway: id -> reason."""
        return {pid: d.reason for pid, d in self.decisions.items() if d.overridden}

    def summaries(self) -> list[dict[str, str]]:
        return [{"id": p["id"], "title": p["title"], "provider": p["provider"],
                 "providerName": p["providerName"], "group": p["group"]}
                for p in self.processes.values()]
