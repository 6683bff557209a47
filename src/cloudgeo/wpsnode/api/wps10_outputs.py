"""What a WPS 1.0.0 Execute asks of its outputs, and RawDataOutput's answer.

PyWPS parses the ResponseForm into `wps_request.outputs` in three shapes: XML
(`{id: {id: "", "mimetype": ...}}`), KVP ResponseDocument (`{id: {"mimeType": ...}}`)
and KVP RawDataOutput, whose attributes stay in the name (`{"id@mimeType=...": {}}`,
as WPS 1.0.0 writes them: `RawDataOutput=OUTPUT@mimeType=application/geo+json`).

RawDataOutput (WPS 1.0.0, 10.2.2.2): the response is the one output named, itself.
PyWPS would read a file output's `data`, which for our outputs means downloading
its own link through the gateway; the node streams the stored file from S3 instead,
with its media type. A literal output is its value as text/plain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

from cloudgeo.storage.objectstore import ObjectNotFound, ObjectStore
from cloudgeo.wpsnode.api.formats import format_for, mime_for
from cloudgeo.wpsnode.catalog.kinds import DESTINATION_KINDS
from cloudgeo.wpsnode.jobs.outputs import RETRIEVE_LINK
from cloudgeo.wpsnode.jobs.record import JobRecord

RAW = "RawDataOutput"


def requested_outputs(outputs: Mapping[str, Mapping[str, Any]] | None) -> dict[str, str | None]:
    """Each output the request names -> the mimeType it asks for (None: the default)."""
    wanted: dict[str, str | None] = {}
    for key, attributes in (outputs or {}).items():
        name, *pairs = str(key).split("@")
        given = {k.lower(): v for k, v in (attributes or {}).items() if isinstance(v, str)}
        for pair in pairs:
            attribute, _, value = pair.partition("=")
            given[attribute.lower()] = value
        wanted[name] = given.get("mimetype") or None
    return wanted


def raw_output(process: dict[str, Any], outputs: Mapping[str, Mapping[str, Any]]) -> str:
    """The output a RawDataOutput request names; InvalidParameterValue (400) unless it
    names exactly one output of the process, in a format it offers."""
    from pywps.exceptions import InvalidParameterValue

    wanted = requested_outputs(outputs)
    if len(wanted) != 1:
        raise InvalidParameterValue(f"{RAW} names exactly one output, not {len(wanted)}",
                                    RAW)
    ((name, mime),) = wanted.items()
    described = {out["name"]: out for out in process["outputs"]}
    if name not in described:
        raise InvalidParameterValue(f"process {process['id']} has no output '{name}'; its "
                                    f"outputs are {sorted(described)}", RAW)
    offered = described[name].get("formats") or []
    if mime and described[name]["dataType"] in DESTINATION_KINDS and \
            not format_for(mime, offered):
        raise InvalidParameterValue(f"output '{name}' is not made as {mime}; it is made as "
                                    f"{[mime_for(f) for f in offered]}", "mimeType")
    return name


def _literal_text(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):  # XML Schema's words, as the document writes them
        return ("true" if value else "false"), "text/plain"
    if isinstance(value, list | dict):
        return json.dumps(value), "application/json"
    return str(value), "text/plain"


def raw_response(process: dict[str, Any], record: JobRecord, name: str,
                 store: ObjectStore) -> Response:
    """The succeeded job's output `name` as the whole response body."""
    from pywps.exceptions import NoApplicableCode

    if name not in record.output:
        return NoApplicableCode(f"the process did not produce output '{name}'", locator=name)
    value = record.output[name]
    kind = next(out["dataType"] for out in process["outputs"] if out["name"] == name)
    stored = RETRIEVE_LINK.search(value) if isinstance(value, str) else None
    if kind not in DESTINATION_KINDS or stored is None:
        text, media = _literal_text(value)
        return Response(text, mimetype=media)
    try:
        chunks = store.open_range(stored["id"])  # opened now: a missing file is an error
    except ObjectNotFound:
        return NoApplicableCode(f"the stored file of output '{name}' has expired",
                                locator=name, code=404)
    response = Response(chunks, mimetype=mime_for(stored["ext"]), direct_passthrough=True)
    filename = f"{stored['id']}.{stored['ext']}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
