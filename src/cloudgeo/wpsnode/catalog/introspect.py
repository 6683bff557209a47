"""Reads QGIS's processing registry into plain, JSON-ready process descriptions.

This is the only catalogue module that imports QGIS; it runs once per node (in
`python -m cloudgeo.wpsnode.catalog`) and everything downstream works on its JSON.
"""

from __future__ import annotations

from typing import Any

from cloudgeo.wpsnode.catalog.kinds import (
    DESTINATION_KINDS,
    LAYER_TYPE_NAMES,
    input_kind,
    output_formats,
)


def _json_value(value: Any) -> Any:
    """A parameter default as JSON: plain values as they are, QGIS objects as text or null."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    text = str(value)
    return None if text.startswith("<") else text


def _attr(param, name: str, default=None):
    """A parameter property, whether QGIS exposes it as a method or (Python providers
    such as OTB's) as a plain attribute."""
    value = getattr(param, name, None)
    if value is None:
        return default
    if not callable(value):
        return value
    try:
        return value()
    except TypeError:
        return default


def describe_parameter(param) -> dict[str, Any]:
    from qgis.core import QgsProcessingParameterDefinition as Definition
    from qgis.core import QgsProcessingParameterNumber

    qgis_type = param.type()
    flags = int(param.flags())
    layer_types = _attr(param, "dataTypes")
    if qgis_type == "multilayer":
        layer_types = [param.layerType()]
    kind = input_kind(qgis_type, layer_types)
    info: dict[str, Any] = {
        "name": param.name(),
        "title": param.description(),
        "type": qgis_type,
        "dataType": kind,
        "optional": bool(flags & Definition.FlagOptional),
        "advanced": bool(flags & Definition.FlagAdvanced),
        "default": _json_value(param.defaultValue()),
    }
    if param.help():
        info["help"] = param.help()
    if layer_types is not None:
        info["layerTypes"] = [LAYER_TYPE_NAMES.get(int(t), str(t)) for t in layer_types]
    options = _attr(param, "options")
    if options is not None:
        info["options"] = [str(o) for o in options]
    multiple = _attr(param, "allowMultiple")
    if multiple is not None or qgis_type == "multilayer":
        info["allowMultiple"] = bool(multiple) or qgis_type == "multilayer"
    if qgis_type in ("number", "distance", "scale", "duration"):
        info["minimum"] = _finite(param.minimum())
        info["maximum"] = _finite(param.maximum())
        info["integer"] = (qgis_type == "number"
                           and param.dataType() == QgsProcessingParameterNumber.Integer)
    parent = _attr(param, "parentLayerParameterName")
    if parent:
        info["parentParameter"] = parent
    if qgis_type == "file":
        info["behavior"] = "folder" if param.behavior() == 1 else "file"
        if param.extension():
            info["extension"] = param.extension()
    if kind in DESTINATION_KINDS:
        extensions = (_attr(param, "supportedOutputVectorLayerExtensions")
                      or _attr(param, "supportedOutputRasterLayerExtensions") or [])
        default_ext = _attr(param, "defaultFileExtension") or ""
        info["formats"] = output_formats(kind, list(extensions), default_ext)
    return info


def _finite(value: float) -> float | None:
    return value if abs(value) < 1e300 else None


def describe_algorithm(alg) -> dict[str, Any]:
    from qgis.core import QgsProcessingParameterDefinition as Definition

    params = [p for p in alg.parameterDefinitions()
              if not int(p.flags()) & Definition.FlagHidden]
    described = [describe_parameter(p) for p in params]
    destinations = {p["name"]: p for p in described if p["dataType"] in DESTINATION_KINDS}
    outputs = []
    for out in alg.outputDefinitions():
        entry: dict[str, Any] = {"name": out.name(), "title": out.description(),
                                 "type": out.type()}
        dest = destinations.get(out.name())
        if dest is not None:
            entry["dataType"] = dest["dataType"]
            entry["formats"] = dest["formats"]
        else:
            entry["dataType"] = "literal"
        outputs.append(entry)
    provider = alg.provider()  # None for a model or script built from its source
    return {
        "id": alg.id(),
        "title": alg.displayName(),
        "provider": provider.id() if provider else "",
        "providerName": provider.name() if provider else "",
        "group": alg.group(),
        "description": (alg.shortHelpString() or alg.shortDescription() or "").strip(),
        "inputs": [p for p in described if p["dataType"] not in DESTINATION_KINDS],
        "destinations": list(destinations.values()),
        "outputs": outputs,
    }


def qgis_version() -> str:
    from qgis.core import Qgis

    return Qgis.QGIS_VERSION
