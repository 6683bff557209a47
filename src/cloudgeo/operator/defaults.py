"""Structural-schema defaulting, as the API server does it: pure.

A missing field with a `default` gets it (then its own fields' defaults); present
objects, arrays and maps are walked. The builders call this on every spec so that
they see what the API server would store, whether or not it has defaulted it yet.
"""

from __future__ import annotations

import copy
from typing import Any


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """A defaulted deep copy of `value` under `schema`."""
    value = copy.deepcopy(value)
    return _walk(schema, value)


def _walk(schema: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and "properties" in schema:
        for name, child in schema["properties"].items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                value[name] = _walk(child, value[name])
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key in value:
            value[key] = _walk(schema["additionalProperties"], value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        value = [_walk(schema["items"], item) for item in value]
    return value
