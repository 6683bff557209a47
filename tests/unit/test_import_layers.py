"""The layers of the code, checked rather than described: a test over every module's
imports (ast, no import executed) that fails when an arrow points up or across.

    cli ─> localcluster ─> (everything below)
    wpsnode.api ──┐
    wpsnode.worker┴─> wpsnode.jobs ─> wpsnode.inputs, wpsnode.catalog ─> storage ─> common

Arrows still crossing, to straighten (issue 27): common/server.py starts the registry's
registration (common -> registry); the operator reads the node's settings for defaults
(operator -> wpsnode.settings, .caller, .inputs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cloudgeo

SOURCE = Path(cloudgeo.__file__).parent

# (importing package, imported package): never. A package is a dotted prefix.
FORBIDDEN = [
    *[(package, "cloudgeo.localcluster") for package in (
        "cloudgeo.wpsnode", "cloudgeo.fileservice", "cloudgeo.storage", "cloudgeo.common",
        "cloudgeo.gateway", "cloudgeo.registry", "cloudgeo.operator")],
    ("cloudgeo.storage", "cloudgeo.wpsnode"), ("cloudgeo.storage", "cloudgeo.fileservice"),
    ("cloudgeo.common", "cloudgeo.wpsnode"), ("cloudgeo.common", "cloudgeo.fileservice"),
    ("cloudgeo.common", "cloudgeo.storage"),
    # Two services side by side: what both need (naming stored files) lives in storage.
    ("cloudgeo.fileservice", "cloudgeo.wpsnode"), ("cloudgeo.wpsnode", "cloudgeo.fileservice"),
    ("cloudgeo.wpsnode.jobs", "cloudgeo.wpsnode.api"),
    ("cloudgeo.wpsnode.jobs", "cloudgeo.wpsnode.worker"),
    ("cloudgeo.wpsnode.worker", "cloudgeo.wpsnode.api"),
    ("cloudgeo.wpsnode.api", "cloudgeo.wpsnode.worker"),
    *[(package, above) for package in ("cloudgeo.wpsnode.inputs", "cloudgeo.wpsnode.catalog")
      for above in ("cloudgeo.wpsnode.jobs", "cloudgeo.wpsnode.api", "cloudgeo.wpsnode.worker")],
]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str) -> set[str]:
    """Every cloudgeo module `source` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return {name for name in found if name == "cloudgeo" or name.startswith("cloudgeo.")}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def violations(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} imports {target} ({importer} may not import {imported})"
                  for module, targets in edges.items() for target in targets
                  for importer, imported in FORBIDDEN
                  if within(module, importer) and within(target, imported))


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return {module_name(path): imports(path.read_text()) for path in SOURCE.rglob("*.py")}


def test_no_import_points_up_or_across(edges):
    assert violations(edges) == []


def test_the_check_sees_an_upward_import_even_inside_a_function():
    tree = {"cloudgeo.wpsnode.jobs.service": {"cloudgeo.wpsnode.api.ogc.shapes"},
            "cloudgeo.wpsnode.worker.runner": {"cloudgeo.localcluster.cluster"},
            "cloudgeo.wpsnode.api.app": {"cloudgeo.wpsnode.jobs.service"}}
    assert violations(tree) == [
        "cloudgeo.wpsnode.jobs.service imports cloudgeo.wpsnode.api.ogc.shapes "
        "(cloudgeo.wpsnode.jobs may not import cloudgeo.wpsnode.api)",
        "cloudgeo.wpsnode.worker.runner imports cloudgeo.localcluster.cluster "
        "(cloudgeo.wpsnode may not import cloudgeo.localcluster)"]
    assert "cloudgeo.wpsnode.api.app" in imports(
        "def later():\n    from cloudgeo.wpsnode.api import app\n")
