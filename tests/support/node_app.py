"""A WPS node's HTTP app in the test's own process, for requests that need neither Redis
nor S3 (descriptions, the landing page, errors, redirects): the real app, with nothing
listening behind it."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from cloudgeo.wpsnode.api.app import create_app
from cloudgeo.wpsnode.settings import WpsSettings

# Nothing listens there: a request that reaches Redis fails at once, loudly.
NO_REDIS = "redis://127.0.0.1:1/0"


def empty_catalog(folder: Path) -> Path:
    """A catalogue with no QGIS algorithm (the builtin processes are still published)."""
    path = folder / "catalog.json"
    path.write_text(json.dumps({"qgisVersion": "none", "processes": []}))
    return path


def node_app(catalog: Path, state: Path, **settings: str) -> Flask:
    """The node's app on `catalog`; `settings` are further CLOUDGEO_WPS_* values by their
    lower-case suffix (job_list="public")."""
    env = {"CLOUDGEO_WPS_CATALOG": str(catalog), "CLOUDGEO_WPS_STATE_DIR": str(state),
           "CLOUDGEO_REDIS_URL": NO_REDIS, "CLOUDGEO_PUBLIC_URL": "http://gateway.test",
           **{f"CLOUDGEO_WPS_{name.upper()}": value for name, value in settings.items()}}
    return create_app(WpsSettings.from_env(env))
