"""A plain-Python process: its OGC description, a pure `run`, and the check of an execute
request's inputs against the description's schemas (`check_inputs`): pure."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from cloudgeo.wpsnode.builtin.schema_object import as_json_schema
from cloudgeo.wpsnode.errors import InputError

PROVIDER = "builtin"
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # RFC 3339: a date, a time and an offset (Z or ±hh:mm).
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise ValueError("not an RFC 3339 date-time with an offset")
    return True


@dataclass(frozen=True)
class BuiltinProcess:
    id: str
    title: str
    description: str
    inputs: Mapping[str, dict[str, Any]]  # OGC input descriptions, schemas included
    outputs: Mapping[str, dict[str, Any]]
    run: Callable[[dict[str, Any]], dict[str, Any]]
    keywords: tuple[str, ...] = ()
    # Inputs whose value is binary: given as base64 (plain, or {"value", "mediaType"}).
    binary_media: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def catalog_entry(self) -> dict[str, Any]:
        """What the OGC adapter lists and searches, in the catalogue's words."""
        return {"id": self.id, "title": self.title, "description": self.description,
                "provider": PROVIDER, "providerName": "CloudGeo", "group": "builtin",
                "inputs": [], "outputs": [{"name": name, "type": "outputJson"}
                                          for name in self.outputs],
                "destinations": [], "builtin": True}


def _binary(name: str, value: Any, media_types: tuple[str, ...]) -> dict[str, str]:
    """A binary input as a qualified value {value (base64), encoding, mediaType}."""
    media = media_types[0]
    if isinstance(value, Mapping):
        unknown = set(value) - {"value", "mediaType", "encoding"}
        if unknown or "value" not in value:
            raise InputError(name, "a binary value is base64 text, or an object with "
                                   "'value' (base64) and optionally 'mediaType'")
        media = value.get("mediaType", media)
        if media not in media_types:
            raise InputError(name, f"'mediaType' must be one of {list(media_types)}, "
                                   f"not {media!r}")
        if value.get("encoding", "base64") != "base64":
            raise InputError(name, "'encoding' must be base64")
        value = value["value"]
    if not isinstance(value, str):
        raise InputError(name, "must be base64 text")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(name, "is not valid base64") from None
    return {"value": value, "encoding": "base64", "mediaType": media}


def check_inputs(process: BuiltinProcess, given: Mapping[str, Any]) -> dict[str, Any]:
    """The execute request's inputs, checked against the process description: a 400
    naming the first input at fault (unknown, missing, too many, or off its schema)."""
    checked: dict[str, Any] = {}
    for name in given:
        if name not in process.inputs:
            raise InputError(name, f"process '{process.id}' has no such input; its inputs "
                                   f"are {sorted(process.inputs)}")
    for name, described in process.inputs.items():
        low, high = described.get("minOccurs", 1), described.get("maxOccurs", 1)
        if name not in given:
            if low > 0:
                raise InputError(name, "is required")
            continue
        multiple = high != 1 and isinstance(given[name], list)
        values = given[name] if multiple else [given[name]]
        if multiple and (len(values) < max(low, 1) or
                         (high != "unbounded" and len(values) > high)):
            raise InputError(name, f"takes {max(low, 1)} to {high} values, got {len(values)}")
        accepted = [_one(process, name, described["schema"], v) for v in values]
        checked[name] = accepted if multiple else accepted[0]
    return checked


def _one(process: BuiltinProcess, name: str, schema: dict[str, Any], value: Any) -> Any:
    if name in process.binary_media:
        return _binary(name, value, process.binary_media[name])
    if isinstance(value, Mapping) and set(value) <= {"value", "mediaType"} and "value" in value:
        value = value["value"]  # a qualified value: the value itself is checked
    # The description's schemas are OpenAPI 3.0 schema objects; JSON Schema checks them.
    checker = Draft202012Validator(as_json_schema(schema), format_checker=FORMATS)
    error = next(iter(sorted(checker.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "".join(f"[{p!r}]" for p in error.path)
        raise InputError(name, f"{where + ': ' if where else ''}{error.message[:300]}")
    return value
