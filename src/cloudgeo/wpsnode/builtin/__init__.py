"""Processes written in plain Python (no QGIS), published on the OGC API only.

Each is a BuiltinProcess (process.py). The HTTP tier checks its inputs before anything
is queued; a QGIS worker runs the job like any other (queue, status, dismiss, results),
calling its `run` instead of `processing.run`.
"""

from __future__ import annotations

from collections.abc import Iterable

from cloudgeo.wpsnode.builtin.echo import ECHO
from cloudgeo.wpsnode.builtin.process import BuiltinProcess, check_inputs

__all__ = ["BuiltinProcess", "check_inputs", "enabled"]


def enabled(names: Iterable[str]) -> dict[str, BuiltinProcess]:
    """The builtin processes a node publishes (CLOUDGEO_WPS_BUILTIN_PROCESSES); an
    unknown name is a ValueError naming the known ones."""
    known = {ECHO.id: ECHO}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"no builtin process {unknown}; the builtin processes are "
                         f"{sorted(known)}")
    return {name: known[name] for name in names}
