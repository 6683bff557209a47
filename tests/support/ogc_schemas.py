"""OGC API – Processes 1.0's own schemas (tests/data/ogcapi-processes-1.0) as JSON Schema
validators.

The files are OpenAPI 3.0 schema objects, not JSON Schema: `nullable: true` and the
boolean `exclusiveMinimum`/`exclusiveMaximum` mean something else there. Each file is
translated to JSON Schema (draft 2020-12, by the translation the node's own input check
uses, tested in tests/unit/test_builtin_processes.py) and registered under the URL OGC
publishes it at, so the `$ref`s between the files resolve here, without a network.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cloudgeo.wpsnode.builtin.schema_object import as_json_schema

SCHEMAS = Path(__file__).parents[1] / "data" / "ogcapi-processes-1.0" / "openapi" / "schemas"
BASE = "http://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/"

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # RFC 3339: a date, "T", a time and an offset (jsonschema checks it only with an
    # optional package installed).
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if "T" not in value or parsed.tzinfo is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    return True


@functools.cache
def registry() -> Registry:
    resources = []
    for path in sorted(SCHEMAS.rglob("*.yaml")):
        translated = as_json_schema(yaml.safe_load(path.read_text()))
        uri = BASE + path.relative_to(SCHEMAS).as_posix()
        resources.append((uri, Resource.from_contents(translated, DRAFT202012)))
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The validator of one schema file, e.g. `process.yaml`."""
    if not (SCHEMAS / name).is_file():
        raise FileNotFoundError(f"no schema {name} in {SCHEMAS}")
    return Draft202012Validator({"$ref": BASE + name}, registry=registry(),
                                format_checker=FORMATS)


def errors(name: str, document: Any) -> list[str]:
    """What is wrong with `document` against schema `name`: one line per error, with
    where it is ([] when valid)."""
    found = sorted(validator(name).iter_errors(document), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {_message(e)}"
            for e in found]


def _message(error) -> str:
    # A oneOf/anyOf failure says only "not valid under any of the given schemas": name
    # the reason found deepest in the document (a missing "$ref" is the other branch).
    reason = error
    while reason.context:
        reason = max(reason.context, key=lambda e: (len(e.absolute_path),
                                                    e.validator != "required"))
    if reason is error:
        return error.message[:300]
    where = "/".join(map(str, reason.absolute_path))
    return f"{reason.message[:300]} (at {where or '(root)'})"


def strict_json(text: str) -> Any:
    """A body parsed as JSON proper: NaN and Infinity (which Python writes and reads by
    default) are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)
