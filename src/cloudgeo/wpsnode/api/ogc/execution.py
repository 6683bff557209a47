"""What an OGC API – Processes 1.0 execute request asks to get back, and how each output
is delivered: pure.

`response` is `document` (a JSON results document, the default) or `raw` (the output
itself: one by value is the body, by reference a Link header, several a multipart
body); `outputs` selects outputs (only those come back) and says per output
`transmissionMode: value | reference`. Files default to reference, literals to value.
The request is kept with the job (`Delivery.to_fields`), so `/jobs/{id}/results` of an
async job answers as the execute request asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.formats import mime_for
from cloudgeo.wpsnode.api.ogc import shapes
from cloudgeo.wpsnode.jobs.errors import RequestRefused
from cloudgeo.wpsnode.jobs.execute import ExecuteRequest
from cloudgeo.wpsnode.jobs.outputs import RETRIEVE_LINK

RESPONSES = ("document", "raw")
TRANSMISSION_MODES = ("value", "reference")
# Output types that are always plain values, never stored as files: QGIS's, and a
# builtin process's JSON (builtin.process.BuiltinProcess.catalog_entry).
PLAIN_TYPES = {"outputNumber", "outputBoolean", "outputString", "outputJson"}


@dataclass(frozen=True)
class Delivery:
    response: str = "document"
    # Selected output name -> transmissionMode ("" for the default); empty: every output.
    outputs: Mapping[str, str] = field(default_factory=dict)

    def to_fields(self) -> dict[str, Any]:
        return {"response": self.response, "outputs": dict(self.outputs)}

    @classmethod
    def from_fields(cls, data: Mapping[str, Any] | None) -> Delivery:
        data = data or {}
        return cls(response=data.get("response", "document"),
                   outputs=dict(data.get("outputs") or {}))


def parse_delivery(body: Mapping[str, Any], process: Mapping[str, Any]) -> Delivery:
    """The delivery an execute request asks for; a 400 naming the field it gets wrong."""
    response = body.get("response", "document")
    if response not in RESPONSES:
        raise ApiError(400, f"'response' must be one of {list(RESPONSES)}, not {response!r}",
                       field="response")
    requested = body.get("outputs") or {}
    if not isinstance(requested, Mapping):
        raise ApiError(400, "'outputs' must be an object of output names to requests",
                       field="outputs")
    described = {out["name"]: out for out in process["outputs"]}
    selected = {}
    for name, request in requested.items():
        if name not in described:
            raise ApiError(400, f"'outputs.{name}': process '{process['id']}' has no such "
                                f"output; its outputs are {sorted(described)}",
                           field=f"outputs.{name}")
        if request is not None and not isinstance(request, Mapping):
            raise ApiError(400, f"'outputs.{name}' must be an object", field=f"outputs.{name}")
        mode = (request or {}).get("transmissionMode", "")
        if mode and mode not in TRANSMISSION_MODES:
            raise ApiError(400, f"'outputs.{name}.transmissionMode' must be one of "
                                f"{list(TRANSMISSION_MODES)}, not {mode!r}",
                           field=f"outputs.{name}.transmissionMode")
        if mode == "reference" and described[name].get("type") in PLAIN_TYPES:
            raise ApiError(400, f"'outputs.{name}.transmissionMode': '{name}' is a plain "
                                "value, delivered by value only",
                           field=f"outputs.{name}.transmissionMode")
        selected[name] = mode
    return Delivery(response=response, outputs=selected)


@dataclass(frozen=True)
class Part:
    """One delivered value: a literal, or a stored file by value or by reference."""

    name: str
    value: Any = None  # the literal (when file_id is empty)
    href: str = ""
    file_id: str = ""
    media_type: str = "text/plain"
    by_value: bool = True

    @property
    def is_file(self) -> bool:
        return bool(self.file_id)


def is_qualified_binary(value: Any) -> bool:
    """A binary literal as a builtin process returns it: {value, encoding, mediaType}."""
    return isinstance(value, Mapping) and value.get("encoding") == "base64" and \
        isinstance(value.get("value"), str) and isinstance(value.get("mediaType"), str)


def _part(name: str, value: Any, mode: str) -> Part:
    match = RETRIEVE_LINK.search(value) if isinstance(value, str) else None
    if match is None and is_qualified_binary(value):
        return Part(name=name, value=value, media_type=value["mediaType"])
    if match is None:
        media = "text/plain" if isinstance(value, str | int | float | bool) else \
            "application/json"
        return Part(name=name, value=value, media_type=media)
    return Part(name=name, href=value, file_id=match["id"], media_type=mime_for(match["ext"]),
                by_value=mode == "value")


def delivered(output: Mapping[str, Any], delivery: Delivery) -> dict[str, Part | list[Part]]:
    """The outputs the request asked for (every one when it named none), in the order
    of the job's output; a list output stays a list."""
    chosen: dict[str, Part | list[Part]] = {}
    for name, value in output.items():
        if delivery.outputs and name not in delivery.outputs:
            continue
        mode = delivery.outputs.get(name, "")
        chosen[name] = ([_part(name, item, mode) for item in value] if isinstance(value, list)
                        else _part(name, value, mode))
    return chosen


def flat(chosen: Mapping[str, Part | list[Part]]) -> list[Part]:
    return [part for value in chosen.values()
            for part in (value if isinstance(value, list) else [value])]


def link_header(part: Part) -> str:
    """A reference as a Link header (raw response, transmissionMode reference)."""
    return f'<{part.href}>; rel="http://www.opengis.net/def/rel/ogc/1.0/results"; ' \
           f'type="{part.media_type}"; title="{part.name}"'


def execute_request(process_id: str, process: Mapping[str, Any], body: Any, prefer: str,
                    builtin: bool = False) -> ExecuteRequest:
    """An OGC API execute request (its JSON body, its Prefer header) in the job
    service's words; RequestRefused (or ApiError, for the delivery) naming the field.
    A builtin process takes its inputs as they are (its own checks)."""
    if not isinstance(body, dict):
        raise RequestRefused("body", "the body must be a JSON execute request with 'inputs'")
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise RequestRefused("inputs", "'inputs' must be an object")
    delivery = parse_delivery(body, process).to_fields()
    mode = "async" if "respond-async" in prefer else "sync"
    subscriber = body.get("subscriber")  # checked by the service, before inputs
    if builtin:
        return ExecuteRequest(process_id, inputs, None, mode, subscriber, delivery)
    return ExecuteRequest(process_id, shapes.seed_inputs(inputs),
                          shapes.seed_outputs(body.get("outputs"), process), mode,
                          subscriber, delivery)
