"""The catalogue of process descriptions, loaded from the JSON QGIS produced."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class UnknownProcess(KeyError):
    pass


@dataclass(frozen=True)
class Catalog:
    qgis_version: str
    processes: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path) -> Catalog:
        document = json.loads(Path(path).read_text())
        return cls(document["qgisVersion"], {p["id"]: p for p in document["processes"]})

    def get(self, identifier: str) -> dict[str, Any]:
        try:
            return self.processes[identifier]
        except KeyError:
            raise UnknownProcess(identifier) from None

    def summaries(self) -> list[dict[str, str]]:
        return [{"id": p["id"], "title": p["title"], "provider": p["provider"],
                 "providerName": p["providerName"], "group": p["group"]}
                for p in self.processes.values()]
