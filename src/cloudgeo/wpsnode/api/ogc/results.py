"""A job's results as the execute request asked for them (execution.Delivery): the
JSON results document, or the raw output(s); stored files are read from S3 for
delivery by value, streamed where the body is the file."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Response, jsonify

from cloudgeo.common.envelope import ApiError
from cloudgeo.storage.objectstore import ObjectNotFound, ObjectStore
from cloudgeo.wpsnode.api.ogc.execution import (
    Delivery,
    Part,
    delivered,
    flat,
    is_qualified_binary,
    link_header,
)
from cloudgeo.wpsnode.jobs.record import JobRecord


def _expired(part: Part) -> ApiError:
    return ApiError(404, f"the stored file of output '{part.name}' has expired",
                    field=f"outputs.{part.name}")


def _stored(store: ObjectStore, part: Part) -> Iterator[bytes]:
    try:
        return store.open_range(part.file_id)
    except ObjectNotFound:
        raise _expired(part) from None


def _size(store: ObjectStore, part: Part) -> int:
    try:
        return store.stat(part.file_id).size
    except ObjectNotFound:
        raise _expired(part) from None


def _inline(store: ObjectStore, part: Part, max_inline: int) -> dict[str, Any]:
    """A stored file by value in a JSON document: JSON as JSON, text as text, the rest
    base64; refused (naming the output) above the inline limit."""
    size = _size(store, part)
    if size > max_inline:
        raise ApiError(400, f"'outputs.{part.name}.transmissionMode': the output is {size} "
                            f"bytes, above the {max_inline} bytes a results document holds; "
                            "ask for it by reference or with response raw",
                       field=f"outputs.{part.name}.transmissionMode")
    data = b"".join(_stored(store, part))
    media = part.media_type
    if media.endswith("json"):
        return {"value": json.loads(data), "mediaType": media}
    if media.startswith("text/") or media.endswith("xml"):
        return {"value": data.decode("utf-8", "replace"), "mediaType": media}
    return {"value": base64.b64encode(data).decode(), "encoding": "base64", "mediaType": media}


def _document_value(store: ObjectStore | None, part: Part, max_inline: int) -> Any:
    if not part.is_file:
        return part.value
    if not part.by_value:
        return {"href": part.href, "type": part.media_type}
    if store is None:
        raise ValueError(f"output '{part.name}' by value needs the object store")
    return _inline(store, part, max_inline)


def _literal_bytes(part: Part) -> bytes:
    if is_qualified_binary(part.value):  # raw: the bytes themselves
        return base64.b64decode(part.value["value"])
    if part.media_type == "application/json":
        return json.dumps(part.value).encode()
    return str(part.value).encode()


def _multipart(store: ObjectStore, parts: list[Part], boundary: str) -> Iterator[bytes]:
    """multipart/related, one part per output (Content-ID its name); a reference is a
    message/external-body part pointing at the file."""
    for part in parts:
        yield f"--{boundary}\r\nContent-ID: <{part.name}>\r\n".encode()
        if part.is_file and not part.by_value:
            yield (f'Content-Type: message/external-body; access-type=URL; '
                   f'URL="{part.href}"\r\n\r\n\r\n').encode()
        elif part.is_file:
            yield f"Content-Type: {part.media_type}\r\n\r\n".encode()
            yield from _stored(store, part)
            yield b"\r\n"
        else:
            yield f"Content-Type: {part.media_type}\r\n\r\n".encode()
            yield _literal_bytes(part) + b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def raw_response(store: ObjectStore, parts: list[Part]) -> Response:
    if all(part.is_file and not part.by_value for part in parts):
        # Every output by reference: no body, a Link header each (also for none).
        response = Response(status=204)
        for part in parts:
            response.headers.add("Link", link_header(part))
        return response
    if len(parts) == 1:
        (part,) = parts
        if not part.is_file:
            return Response(_literal_bytes(part), mimetype=part.media_type)
        chunks = _stored(store, part)
        response = Response(chunks, content_type=part.media_type)
        name = part.href.rsplit("/", 1)[-1]
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    boundary = uuid.uuid4().hex
    # Every stored file is looked up before the response starts: a missing one is a 404.
    for part in parts:
        if part.is_file and part.by_value:
            _size(store, part)
    return Response(_multipart(store, parts, boundary),
                    content_type=f'multipart/related; boundary="{boundary}"')


def results_response(record: JobRecord, delivery: Delivery, store: ObjectStore,
                     max_inline: int) -> Response:
    if delivery.response == "raw":
        return raw_response(store, flat(delivered(record.output, delivery)))
    return jsonify(results_document(record, delivery, store, max_inline))


def results_document(record: JobRecord, delivery: Delivery, store: ObjectStore | None,
                     max_inline: int) -> dict[str, Any]:
    """The JSON results document: each chosen output by value or by reference. `store`
    reads files asked for by value (None when none is: every file by reference)."""
    document = {}
    for name, value in delivered(record.output, delivery).items():
        document[name] = ([_document_value(store, p, max_inline) for p in value]
                          if isinstance(value, list)
                          else _document_value(store, value, max_inline))
    return document
