"""Operator settings, from the environment.

Each setting is declared once, below; the table in docs/settings.md is generated from
these declarations (`python -m cloudgeo.operator.settingsdocs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envsettings import read, setting


@dataclass(frozen=True)
class OperatorSettings:
    field_manager: str = setting("CLOUDGEO_OPERATOR_FIELD_MANAGER", "cloudgeo-operator",
                                 doc="server-side apply field manager")
    status_interval: float = setting(
        "CLOUDGEO_OPERATOR_STATUS_INTERVAL", 10.0,
        doc="seconds between resyncs of every resource (drift put back, status)")
    namespaces: tuple[str, ...] = setting("CLOUDGEO_OPERATOR_NAMESPACES", (),
                                          default_doc="empty: all",
                                          doc="comma-separated namespaces to watch")
    liveness_url: str = setting("CLOUDGEO_OPERATOR_LIVENESS_URL",
                                "http://0.0.0.0:8080/healthz", doc="kopf's liveness endpoint")
    absent_kind_recheck: float = setting(
        "CLOUDGEO_OPERATOR_ABSENT_KIND_RECHECK", 60.0,
        doc="seconds before a kind the API server did not serve (KEDA's) is looked up again")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        return read(cls, env)
