"""The WPS node's packages import only downwards, and no module imports itself
through others (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import cloudgeo.wpsnode

ROOT = Path(cloudgeo.wpsnode.__file__).parent
PREFIX = "cloudgeo.wpsnode."
# Layer -> the layers it may import. Top-level modules (settings, errors, caller,
# metrics, qgis_runtime) are shared by all and import no layer but what the node
# publishes: the catalogue (loaded under the publication policy) and the builtins.
PUBLISHED = {"catalog", "builtin"}
ALLOWED = {
    "api": {"jobs", "inputs", *PUBLISHED},
    "jobs": {"inputs", *PUBLISHED},
    "worker": {"jobs", "inputs", *PUBLISHED},
    "inputs": {"catalog"},
    "catalog": set(),
    "builtin": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return PREFIX + ".".join(p for p in parts if p != "__init__") if parts != ("__init__",) \
        else PREFIX.rstrip(".")


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith(PREFIX)}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {name: {i for i in imports_of(path) if i in modules and i != name}
            for name, path in modules.items()}


def layer(module: str) -> str | None:
    parts = module.removeprefix(PREFIX).split(".")
    return parts[0] if len(parts) > 1 and parts[0] in ALLOWED else None


def test_layers_import_only_downwards():
    wrong = []
    for module, imported in graph().items():
        own = layer(module)
        for target in imported:
            other = layer(target)
            if own and other and other != own and other not in ALLOWED[own]:
                wrong.append(f"{module} imports {target}")
            if own is None and other not in (None, *PUBLISHED) and module != PREFIX + "__main__":
                wrong.append(f"shared module {module} imports the layer module {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycle():
    edges = graph()
    state: dict[str, str] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_a_cycle_and_a_wrong_layer(monkeypatch):
    """The two checks above can fail: fed a graph with both faults, they do."""
    fake = {PREFIX + "jobs.queue": {PREFIX + "worker.tasks"},
            PREFIX + "worker.tasks": {PREFIX + "jobs.queue"}}
    monkeypatch.setattr(sys.modules[__name__], "graph", lambda: fake)
    for check in (test_layers_import_only_downwards, test_no_import_cycle):
        try:
            check()
        except AssertionError:
            continue
        raise AssertionError(f"{check.__name__} passed on a bad graph")
