"""Checks a seed `inputs` object against a process description and normalises it.

Pure: the HTTP tier runs it before anything is queued, so every input a node
cannot use is refused up front with a message naming it. Its result, the
`plan`, is what a QGIS worker later turns into `processing.run` parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from cloudgeo.wpsnode.catalog.kinds import REFERENCE_KINDS, UNSUPPORTED
from cloudgeo.wpsnode.catalog.policy import GUARDED_URL_PARAMETERS
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.text_guard import crs_problem, text_problem

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXTENT_TEXT = re.compile(rf"\s*{_NUMBER}\s*,\s*{_NUMBER}\s*,\s*{_NUMBER}\s*,\s*{_NUMBER}"
                          r"\s*(\[[^\]]+\])?\s*")
_POINT_TEXT = re.compile(rf"\s*{_NUMBER}\s*,\s*{_NUMBER}\s*(\[[^\]]+\])?\s*")


def _number(name: str, value: Any, spec: Mapping[str, Any]) -> float | int:
    if isinstance(value, bool):
        raise InputError(name, f"must be a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InputError(name, f"must be a number, got {value!r}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(name, f"must be a number, got {value!r}")
    if spec.get("integer"):
        if float(value) != int(value):
            raise InputError(name, f"must be a whole number, got {value!r}")
        value = int(value)
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is not None and value < low:
        raise InputError(name, f"must be at least {low:g}, got {value!r}")
    if high is not None and value > high:
        raise InputError(name, f"must be at most {high:g}, got {value!r}")
    return value


def _boolean(name: str, value: Any, _spec) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise InputError(name, f"must be true or false, got {value!r}")


def _string(name: str, value: Any, _spec) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InputError(name, f"must be a string, got {value!r}")


def _enum_one(name: str, value: Any, options: list[str]) -> int:
    if isinstance(value, bool):
        raise InputError(name, f"must be an option index or name, got {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        index = int(value)
        if 0 <= index < len(options):
            return index
        raise InputError(name, f"option index {index} is out of range 0-{len(options) - 1}")
    if isinstance(value, str):
        wanted = value.strip().lower()
        for index, option in enumerate(options):
            if option.strip().lower() == wanted:
                return index
        raise InputError(name, f"{value!r} is not one of the options {options}")
    raise InputError(name, f"must be an option index or name, got {value!r}")


def _enum(name: str, value: Any, spec: Mapping[str, Any]) -> int | list[int]:
    options = spec.get("options") or []
    if spec.get("allowMultiple"):
        values = value if isinstance(value, list) else [value]
        return [_enum_one(name, v, options) for v in values]
    if isinstance(value, list):
        raise InputError(name, "takes one option, not a list")
    return _enum_one(name, value, options)


def _crs(name: str, value: Any, _spec) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"EPSG:{value}"
    if isinstance(value, str) and value.strip():
        # AUTHORITY:CODE only: PROJ strings can name files (+init=, grids).
        problem = crs_problem(value)
        if problem:
            raise InputError(name, problem)
        return value.strip()
    raise InputError(name, f"must be a CRS such as 'EPSG:4326', got {value!r}")


def _bracketed_crs(name: str, text: str) -> str:
    """An 'x,y [CRS]' text, its CRS checked like a CRS input."""
    found = re.search(r"\[([^\]]+)\]", text)
    if found:
        _crs(name, found.group(1), {})
    return text.strip()


def _coordinates(name: str, values: Any, count: int) -> list[float]:
    if not isinstance(values, list | tuple) or len(values) != count:
        raise InputError(name, f"must hold {count} numbers, got {values!r}")
    return [float(_number(name, v, {})) for v in values]


def _extent(name: str, value: Any, _spec) -> str:
    """OGC bbox order [minx, miny, maxx, maxy] (optionally {"bbox": [...], "crs": ...})
    or QGIS's own text 'xmin,xmax,ymin,ymax [EPSG:n]'."""
    crs = None
    if isinstance(value, Mapping):
        crs = value.get("crs")
        value = value.get("bbox")
    if isinstance(value, str):
        if not _EXTENT_TEXT.fullmatch(value):
            raise InputError(name, f"must be 'xmin,xmax,ymin,ymax [CRS]' or "
                                   f"[minx, miny, maxx, maxy], got {value!r}")
        return _bracketed_crs(name, value)
    minx, miny, maxx, maxy = _coordinates(name, value, 4)
    if minx > maxx or miny > maxy:
        raise InputError(name, f"bbox {value!r} has a minimum above its maximum "
                               "(order is [minx, miny, maxx, maxy])")
    text = f"{minx!r},{maxx!r},{miny!r},{maxy!r}"
    return f"{text} [{_crs(name, crs, {})}]" if crs else text


def _point(name: str, value: Any, _spec) -> str:
    crs = None
    if isinstance(value, Mapping):
        crs = value.get("crs")
        value = [value.get("x"), value.get("y")]
    if isinstance(value, str):
        if not _POINT_TEXT.fullmatch(value):
            raise InputError(name, f"must be 'x,y [CRS]' or [x, y], got {value!r}")
        return _bracketed_crs(name, value)
    x, y = _coordinates(name, value, 2)
    return f"{x!r},{y!r} [{_crs(name, crs, {})}]" if crs else f"{x!r},{y!r}"


def _field(name: str, value: Any, spec: Mapping[str, Any]) -> str | list[str]:
    if spec.get("allowMultiple"):
        values = value if isinstance(value, list) else [value]
        return [_string(name, v, spec) for v in values]
    return _string(name, value, spec)


def _band(name: str, value: Any, spec: Mapping[str, Any]) -> int | list[int]:
    whole = {"integer": True, "minimum": 1}
    if spec.get("allowMultiple"):
        values = value if isinstance(value, list) else [value]
        return [int(_number(name, v, whole)) for v in values]
    return int(_number(name, value, whole))


def _range(name: str, value: Any, _spec) -> str:
    if isinstance(value, str):
        value = value.split(",")
    low, high = _coordinates(name, value, 2)
    return f"{low!r},{high!r}"


def _matrix(name: str, value: Any, _spec) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(name, f"must be a list (of rows), got {value!r}")
    return [cell for row in value for cell in (row if isinstance(row, list) else [row])]


def _json(name: str, value: Any, _spec) -> Any:
    if not isinstance(value, list | dict | str | int | float):
        raise InputError(name, f"must be JSON data, got {value!r}")
    return value


LITERAL_CONVERTERS: dict[str, Callable[[str, Any, Mapping[str, Any]], Any]] = {
    "number": _number, "boolean": _boolean, "string": _string, "expression": _string,
    "enum": _enum, "crs": _crs, "extent": _extent, "point": _point, "field": _field,
    "band": _band, "range": _range, "matrix": _matrix, "json": _json,
}


def _reference(name: str, value: Any, kind: str) -> dict[str, Any]:
    """One layer or file: a reference object, a bare URL, or (vectors) inline GeoJSON."""
    if isinstance(value, str):
        value = {"type": "reference", "href": value}
    if not isinstance(value, Mapping):
        raise InputError(name, 'must be {"type": "reference", "href": URL}, '
                               f"got {value!r}")
    if value.get("type") in ("FeatureCollection", "Feature") and kind in ("vector", "layer"):
        return {"geojson": dict(value)}
    href = value.get("href")
    if value.get("type", "reference") != "reference" or not isinstance(href, str) or not href:
        raise InputError(name, 'must be {"type": "reference", "href": URL}, '
                               f"got {dict(value)!r}")
    return {"href": href}


def plan_inputs(process: Mapping[str, Any], inputs: Mapping[str, Any] | None,
                outputs: Mapping[str, Any] | None = None,
                check_href: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """The validated, normalised plan for one execution of `process`.

    Plan: {"literals": {name: value}, "references": {name: {"kind", "multiple",
    "items": [{"href"} | {"geojson"}]}}, "destinations": {name: format}}.
    `check_href(name, href)` raises InputError for an href the node must not fetch.
    """
    if inputs is not None and not isinstance(inputs, Mapping):
        raise InputError("inputs", "must be an object of input names to values")
    inputs = dict(inputs or {})
    specs = {p["name"]: p for p in process["inputs"]}
    destinations = {d["name"]: d for d in process.get("destinations", [])}
    unknown = sorted(set(inputs) - set(specs) - set(destinations))
    if unknown:
        raise InputError(unknown[0], f"process '{process['id']}' has no such input; "
                                     f"its inputs are {sorted(specs)}")
    plan: dict[str, Any] = {"literals": {}, "references": {}, "destinations": {}}
    for name, spec in specs.items():
        value = inputs.get(name)
        kind = spec["dataType"]
        if value is None or (value == "" and kind in REFERENCE_KINDS):
            if kind == UNSUPPORTED and not spec["optional"] and spec.get("default") is None:
                raise InputError(name, f"is a QGIS '{spec['type']}' parameter, which cannot "
                                       "be given over the web, so this process cannot run here")
            if not spec["optional"] and spec.get("default") is None:
                raise InputError(name, "is required and missing")
            continue
        if kind == UNSUPPORTED:
            raise InputError(name, f"is a QGIS '{spec['type']}' parameter, which cannot be "
                                   "given over the web")
        if kind in REFERENCE_KINDS:
            values = value if isinstance(value, list) else [value]
            if len(values) > 1 and not spec.get("allowMultiple"):
                raise InputError(name, "takes one layer, not a list")
            if not values:
                raise InputError(name, "is an empty list")
            items = [_reference(name, v, kind) for v in values]
            for item in items:
                if "href" in item and check_href is not None:
                    check_href(name, item["href"])
            plan["references"][name] = {"kind": kind,
                                        "multiple": bool(spec.get("allowMultiple")),
                                        "items": items}
        else:
            literal = LITERAL_CONVERTERS[kind](name, value, spec)
            if name == GUARDED_URL_PARAMETERS.get(process["id"]):
                # A URL the node itself fetches (when an operator published the process).
                if check_href is not None:
                    check_href(name, literal)
                plan["literals"][name] = literal
                continue
            problem = text_problem(process.get("provider", ""), kind, literal)
            if problem:
                raise InputError(name, problem)
            plan["literals"][name] = literal
    requested = dict(outputs or {})
    for name, value in inputs.items():
        if name in destinations:
            requested.setdefault(name, value)
    for name, request in requested.items():
        if name not in destinations:
            raise InputError(name, f"process '{process['id']}' has no file output of that "
                                   f"name; its file outputs are {sorted(destinations)}")
        fmt = request.get("format") if isinstance(request, Mapping) else request
        formats = destinations[name]["formats"]
        fmt = str(fmt).lower().lstrip(".") if fmt else formats[0]
        if fmt not in formats:
            raise InputError(name, f"format {fmt!r} is not offered; choose one of {formats}")
        plan["destinations"][name] = fmt
    for name, dest in destinations.items():
        # Optional outputs (reports, extra layers) cost time: made only when asked for.
        if not dest.get("optional"):
            plan["destinations"].setdefault(name, dest["formats"][0])
    return plan
