"""The file service's API without a web framework: upload (streamed to S3), find,
delete, retrieve (streamed from S3, ranges and conditions), health. Each takes the
service's state (Files), the request's headers and parsed parts, and returns the
answer's status, headers and body, or raises a refusal (errors.py). Flask's side is
routes.py.

The caller is read from the headers where each step needs it, not before: a missing
file is 404 before an unauthenticated caller is 401, as it always was."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple
from urllib.parse import unquote

from werkzeug.http import parse_options_header

from cloudgeo.common.answer import Answer
from cloudgeo.common.envelope import file_envelope
from cloudgeo.fileservice import metrics
from cloudgeo.fileservice.errors import (
    FileNotFound,
    FileTooLarge,
    NameTaken,
    RangeRefused,
    UploadRefused,
)
from cloudgeo.fileservice.ownership import FileCaller, file_caller
from cloudgeo.fileservice.ranges import RangeNotSatisfiable, etag_matches, parse_range
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.fileservice.streaming import (
    MalformedMultipart,
    MissingFilePart,
    MultipartStream,
    PayloadTooLarge,
)
from cloudgeo.storage.files import stored_file_metadata, stored_file_owner
from cloudgeo.storage.names import (
    FileName,
    content_type_for,
    format_of,
    new_id,
    parse_forced_name,
    parse_name,
    validate_id,
)
from cloudgeo.storage.objectstore import (
    ObjectNotFound,
    ObjectStore,
    StorageUnavailable,
    StoredObject,
)

FILE_FIELD = "file"
# Room for the multipart framing around the file part when checking Content-Length.
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class Files:
    """The file service's state: its settings and the object store it keeps files in."""

    settings: FileServiceSettings
    store: ObjectStore

    def caller(self, headers: Mapping[str, str]) -> FileCaller:
        return file_caller(headers, self.settings.user_header, self.settings.admins)


class UploadBody(NamedTuple):
    """A request body as the route hands it over: read as it arrives, never whole."""

    content_type: str  # the Content-Type header, with its boundary
    content_length: int | None
    stream: BinaryIO


def ok(data: Any, message: str = "success") -> Answer:
    return Answer(200, {}, file_envelope(data, message=message))


def failure(message: str, data: Any = None) -> dict[str, Any]:
    """The seed's failure envelope."""
    return file_envelope(data, message=message, success=False)


def describe(obj: StoredObject, settings: FileServiceSettings) -> dict:
    """The seed's `data` block for a stored file, plus the fields `find` adds."""
    fmt = obj.metadata.get("format", "bin")
    return {
        "name": obj.key,
        "format": fmt,
        "length": obj.size,
        "objectName": obj.key,
        "etag": f'"{obj.etag}"',
        "originalName": unquote(obj.metadata.get("original-name", "")) or None,
        "contentType": obj.content_type,
        "uploadedAt": obj.metadata.get("uploaded-at"),
        "url": settings.retrieve_url(f"{obj.key}.{fmt}"),
    }


# -- uploads -------------------------------------------------------------------
def upload(files: Files, headers: Mapping[str, str], body: UploadBody) -> Answer:
    """A new file under a new id, its format from the upload's filename."""
    return receive_upload(files, headers, body,
                          lambda filename: FileName(new_id(), format_of(filename)))


def upload_force_name(files: Files, headers: Mapping[str, str], body: UploadBody,
                      name: str) -> Answer:
    """A file under the caller's name. Overwrite semantics: a forced name replaces what
    is stored under it, as an S3 PUT does; `If-None-Match: *` asks for create-only and
    gets a refusal (NameTaken) instead."""

    def refuse_existing(target: FileName) -> None:
        create_only = headers.get("If-None-Match", "").strip() == "*"
        if not create_only and files.caller(headers).user is None:
            return
        try:
            existing = files.store.stat(target.id)
        except ObjectNotFound:
            return
        if not files.caller(headers).may_act_on(stored_file_owner(existing.metadata)):
            raise not_found(target.id)  # another user's file: never replaced
        if not create_only:
            return
        raise NameTaken(f"name '{target.id}' already exists and If-None-Match: * "
                        "forbids overwriting it", "name")

    return receive_upload(files, headers, body,
                          lambda filename: parse_forced_name(name, filename), refuse_existing)


def receive_upload(files: Files, headers: Mapping[str, str], body: UploadBody,
                   name_for: Callable[[str | None], FileName],
                   overwrite_check: Callable[[FileName], None] | None = None) -> Answer:
    """Streams the form's file part to S3 as it arrives (about one S3 part in memory);
    a body too large is drained up to the drain limit so the client reads the refusal."""
    settings = files.settings
    uploader = files.caller(headers).user
    mimetype, options = parse_options_header(body.content_type)
    if mimetype != "multipart/form-data":
        raise UploadRefused("the body must be multipart/form-data with the upload in a "
                            f"field named '{FILE_FIELD}'", FILE_FIELD)
    try:
        parts = MultipartStream(body.stream, options.get("boundary", ""))
    except MalformedMultipart as exc:  # no boundary: the client's error, not a 500
        raise UploadRefused(str(exc), FILE_FIELD) from None
    too_large = FileTooLarge(f"field '{FILE_FIELD}': the file is larger than the maximum "
                             f"of {settings.max_size} bytes", FILE_FIELD)
    declared = body.content_length
    if declared is not None and declared > settings.max_size + MULTIPART_OVERHEAD:
        parts.drain(settings.drain_limit)
        raise too_large
    try:
        filename, _, reader = parts.file_part(FILE_FIELD, settings.max_size,
                                              metrics.BYTES_IN.inc)
    except MissingFilePart:
        raise UploadRefused(f"the form has no file in a field named '{FILE_FIELD}'",
                            FILE_FIELD) from None
    except MalformedMultipart as exc:
        raise UploadRefused(str(exc), FILE_FIELD) from None
    target = name_for(filename)
    if overwrite_check:
        overwrite_check(target)
    try:
        stored = files.store.put_stream(target.id, reader, content_type_for(target.format),
                                        stored_file_metadata(target.format, filename,
                                                             uploader))
    except PayloadTooLarge:
        parts.drain(settings.drain_limit)
        raise too_large from None
    except MalformedMultipart as exc:
        raise UploadRefused(str(exc), FILE_FIELD) from None
    return ok(describe(stored, settings), message="upload complete")


# -- metadata, delete, download ------------------------------------------------
def not_found(file_id: str) -> FileNotFound:
    return FileNotFound(f"no file with id '{file_id}'", "id")


def stat_or_404(files: Files, headers: Mapping[str, str], file_id: str,
                owners_only: bool = True) -> StoredObject:
    """The file's object; FileNotFound when it does not exist, or (`owners_only`)
    belongs to another user: the same answer, so others' names stay unknown."""
    try:
        obj = files.store.stat(file_id)
    except ObjectNotFound:
        raise not_found(file_id) from None
    if owners_only and not files.caller(headers).may_act_on(stored_file_owner(obj.metadata)):
        raise not_found(file_id)
    return obj


def find(files: Files, headers: Mapping[str, str], file_id: str) -> Answer:
    obj = stat_or_404(files, headers, validate_id(file_id))
    return ok(describe(obj, files.settings))


def delete(files: Files, headers: Mapping[str, str], file_id: str) -> Answer:
    obj = stat_or_404(files, headers, validate_id(file_id))
    files.store.delete(obj.key)
    return ok(describe(obj, files.settings), message="file deleted")


def retrieve(files: Files, headers: Mapping[str, str], name: str, head: bool) -> Answer:
    """The file `id.ext` (its format must be `ext`): 200, or 206 for a satisfiable Range
    (unless If-Range names another version), 304 when If-None-Match names it; its
    chunks streamed from S3 as they are sent (none for HEAD)."""
    wanted = parse_name(name)
    # A link is a capability, unless the operator asked for owner-only retrieval.
    obj = stat_or_404(files, headers, wanted.id,
                      owners_only=files.settings.owner_only_retrieval)
    if obj.metadata.get("format", "bin") != wanted.format:
        raise FileNotFound(f"no file named '{name}' (file '{wanted.id}' is "
                           f"'.{obj.metadata.get('format', 'bin')}')", "name")
    answer_headers = {
        "ETag": f'"{obj.etag}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'inline; filename="{wanted}"',
    }
    if etag_matches(headers.get("If-None-Match"), obj.etag):
        return Answer(304, answer_headers, None)
    try:
        byte_range = parse_range(headers.get("Range"), obj.size)
    except RangeNotSatisfiable:
        raise RangeRefused(f"Range '{headers.get('Range')}' is outside the {obj.size} "
                           f"bytes of '{name}'", obj.size) from None
    if_range = headers.get("If-Range")
    if byte_range and if_range and if_range.strip('"') != obj.etag:
        byte_range = None
    status, offset, length = 200, 0, obj.size
    if byte_range:
        status, offset, length = 206, byte_range.start, byte_range.length
        answer_headers["Content-Range"] = byte_range.content_range(obj.size)
    answer_headers["Content-Length"] = str(length)
    if head:
        return Answer(status, answer_headers, None, obj.content_type)
    chunks = files.store.open_range(obj.key, offset, length if byte_range else 0)
    return Answer(status, answer_headers, counted(chunks), obj.content_type)


# -- operations ----------------------------------------------------------------
def health(files: Files) -> Answer:
    """200 while the bucket is reachable; 503 while draining or when it is not."""
    if files.settings.server.draining():
        return Answer(503, {}, failure("shutting down", {"objectStorage": "not checked"}))
    try:
        files.store.ping()
    except StorageUnavailable as exc:
        return Answer(503, {}, failure(str(exc), {"objectStorage": "down"}))
    return ok({"objectStorage": "up", "bucket": files.store.bucket}, message="ok")


def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks as they are sent, counted; the S3 response closed however it ends."""
    try:
        for chunk in chunks:
            metrics.BYTES_OUT.inc(len(chunk))
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
