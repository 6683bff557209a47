"""OpenAPI 3.0 schema objects as JSON Schema (draft 2020-12): pure.

OGC API – Processes 1.0 describes inputs and outputs with OpenAPI 3.0 schema objects
(its schema.yaml), where `exclusiveMinimum`/`exclusiveMaximum` are booleans qualifying
`minimum`/`maximum` and `nullable: true` admits null; JSON Schema, which the input check
runs, says the same with a number bound and a "null" type. Descriptions keep the
OpenAPI 3.0 words (what clients and OGC's test suite read); checks use this translation.
"""

from __future__ import annotations

from typing import Any

# Keywords whose value is one schema, a list of schemas, or a map of names to schemas.
ONE_SCHEMA = ("items", "not", "additionalProperties")
SCHEMA_LISTS = ("allOf", "oneOf", "anyOf")
SCHEMA_MAPS = ("properties",)


def as_json_schema(schema: Any) -> Any:
    """The JSON Schema meaning what the OpenAPI 3.0 schema object `schema` means."""
    if not isinstance(schema, dict):
        return schema  # `true`/`false` as additionalProperties
    out = dict(schema)
    if out.pop("nullable", False) is True and "type" in out:
        out["type"] = [out["type"], "null"]
    for bound, flag in (("maximum", "exclusiveMaximum"), ("minimum", "exclusiveMinimum")):
        if isinstance(out.get(flag), bool) and out.pop(flag) and bound in out:
            out[flag] = out.pop(bound)
    for key in ONE_SCHEMA:
        if key in out:
            out[key] = as_json_schema(out[key])
    for key in SCHEMA_LISTS:
        if key in out:
            out[key] = [as_json_schema(s) for s in out[key]]
    for key in SCHEMA_MAPS:
        if key in out:
            out[key] = {name: as_json_schema(s) for name, s in out[key].items()}
    return out
