"""Operator settings, from the environment.

| variable                          | default            | meaning                              |
|-----------------------------------|--------------------|--------------------------------------|
| CLOUDGEO_OPERATOR_FIELD_MANAGER   | cloudgeo-operator  | server-side apply field manager      |
| CLOUDGEO_OPERATOR_STATUS_INTERVAL | 10                 | seconds between resyncs of every     |
|                                   |                    | resource (drift put back, status)    |
| CLOUDGEO_OPERATOR_NAMESPACES      | (all)              | comma-separated namespaces to watch  |
| CLOUDGEO_OPERATOR_LIVENESS_URL    | http://0.0.0.0:8080/healthz | kopf's liveness endpoint    |
| CLOUDGEO_OPERATOR_ABSENT_KIND_RECHECK | 60             | seconds before a kind the API server |
|                                   |                    | did not serve (KEDA's) is looked up  |
|                                   |                    | again                                |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envsettings import env_float, env_str


@dataclass(frozen=True)
class OperatorSettings:
    field_manager: str = "cloudgeo-operator"
    status_interval: float = 10.0
    namespaces: tuple[str, ...] = ()
    liveness_url: str = "http://0.0.0.0:8080/healthz"
    absent_kind_recheck: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        env = os.environ if env is None else env
        spaces = env_str(env, "CLOUDGEO_OPERATOR_NAMESPACES", "")
        return cls(
            field_manager=env_str(env, "CLOUDGEO_OPERATOR_FIELD_MANAGER", cls.field_manager),
            status_interval=env_float(env, "CLOUDGEO_OPERATOR_STATUS_INTERVAL",
                                      cls.status_interval),
            namespaces=tuple(s.strip() for s in spaces.split(",") if s.strip()),
            liveness_url=env_str(env, "CLOUDGEO_OPERATOR_LIVENESS_URL", cls.liveness_url),
            absent_kind_recheck=env_float(env, "CLOUDGEO_OPERATOR_ABSENT_KIND_RECHECK",
                                          cls.absent_kind_recheck),
        )
