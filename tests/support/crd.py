"""Admission of a custom resource as the API server does it, offline: a stand-in.

No Kubernetes API server runs on these machines, so this reproduces the three steps
it applies to a GeoProcessingCluster: defaulting (the operator's own
apply_defaults), the structural schema (jsonschema over the CRD's openAPIV3Schema)
and the CEL rules of x-kubernetes-validations (cel-python; transition rules, those
naming oldSelf, only on update, as Kubernetes does).
"""

from __future__ import annotations

from typing import Any

import celpy
import jsonschema

from cloudgeo.operator.crd import crd_manifest
from cloudgeo.operator.defaults import apply_defaults

MISSING = object()


def resource_schema() -> dict[str, Any]:
    return crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _cel_errors(schema: dict[str, Any], value: Any, old: Any, path: str) -> list[str]:
    errors = []
    env = celpy.Environment()
    for rule in schema.get("x-kubernetes-validations", []):
        transition = "oldSelf" in rule["rule"]
        if transition and old is MISSING:
            continue
        context = {"self": celpy.json_to_cel(value)}
        if transition:
            context["oldSelf"] = celpy.json_to_cel(old)
        if not env.program(env.compile(rule["rule"])).evaluate(context):
            errors.append(f"{path}: {rule['message']}")
    if isinstance(value, dict):
        for name, child in schema.get("properties", {}).items():
            if name in value:
                older = old.get(name, MISSING) if isinstance(old, dict) else MISSING
                errors += _cel_errors(child, value[name], older, f"{path}.{name}")
    return errors


def admit(resource: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored resource, or ValueError with every reason it is refused."""
    schema = resource_schema()
    stored = apply_defaults(schema, resource)
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
              for e in validator.iter_errors(stored)]
    if not errors:
        previous = apply_defaults(schema, old) if old is not None else MISSING
        errors = _cel_errors(schema, stored, previous, "")
    if errors:
        raise ValueError("; ".join(errors))
    return stored
