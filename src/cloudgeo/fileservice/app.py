"""The file service's HTTP API (the seed's paths and envelope), over an ObjectStore."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from urllib.parse import unquote

from flask import Flask, Response, jsonify, request
from werkzeug.http import parse_options_header

from cloudgeo.common.envelope import ApiError, file_envelope
from cloudgeo.common.flaskkit import install_error_handlers, install_request_metrics, json_error
from cloudgeo.common.unavailable import add_gateway_answers
from cloudgeo.fileservice import metrics
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
    InvalidName,
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

log = logging.getLogger(__name__)
FILE_FIELD = "file"
# Room for the multipart framing around the file part when checking Content-Length.
MULTIPART_OVERHEAD = 64 * 1024


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


def create_app(settings: FileServiceSettings | None = None,
               store: ObjectStore | None = None) -> Flask:
    settings = settings or FileServiceSettings.from_env()
    store = store or ObjectStore(settings.s3)
    app = Flask(__name__)
    app.json.sort_keys = False

    def failure(message: str, data=None) -> dict:
        return file_envelope(data, message=message, success=False)

    def error_response(status: int, message: str, data=None, headers=None) -> Response:
        return json_error(failure, status, message, data, headers)

    install_error_handlers(app, failure, settings.server.recycle_after_errors)
    install_request_metrics(app, metrics.REQUESTS, metrics.LATENCY)

    @app.errorhandler(InvalidName)
    def on_invalid_name(exc: InvalidName):
        return error_response(400, str(exc), {"field": "name"})

    def caller() -> FileCaller:
        return file_caller(request.headers, settings.user_header, settings.admins)

    @app.errorhandler(StorageUnavailable)
    def on_storage_down(exc: StorageUnavailable):
        return error_response(503, str(exc), headers={"Retry-After": "5"})

    # -- uploads -----------------------------------------------------------
    def receive_upload(name_for: Callable[[str | None], FileName],
                       overwrite_check: Callable[[FileName], None] | None = None) -> Response:
        uploader = caller().user
        mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
        if mimetype != "multipart/form-data":
            raise ApiError(400, "the body must be multipart/form-data with the upload in "
                                f"a field named '{FILE_FIELD}'", field=FILE_FIELD)
        parts = MultipartStream(request.stream, options.get("boundary", ""))
        too_large = ApiError(413, f"field '{FILE_FIELD}': the file is larger than the "
                                  f"maximum of {settings.max_size} bytes",
                             field=FILE_FIELD, headers={"Connection": "close"})
        declared = request.content_length
        if declared is not None and declared > settings.max_size + MULTIPART_OVERHEAD:
            parts.drain(settings.drain_limit)
            raise too_large
        try:
            filename, _, reader = parts.file_part(FILE_FIELD, settings.max_size,
                                                  metrics.BYTES_IN.inc)
        except MissingFilePart:
            raise ApiError(400, f"the form has no file in a field named '{FILE_FIELD}'",
                           field=FILE_FIELD) from None
        except MalformedMultipart as exc:
            raise ApiError(400, str(exc), field=FILE_FIELD) from None
        target = name_for(filename)
        if overwrite_check:
            overwrite_check(target)
        try:
            stored = store.put_stream(target.id, reader, content_type_for(target.format),
                                      stored_file_metadata(target.format, filename, uploader))
        except PayloadTooLarge:
            parts.drain(settings.drain_limit)
            raise too_large from None
        except MalformedMultipart as exc:
            raise ApiError(400, str(exc), field=FILE_FIELD) from None
        return jsonify(file_envelope(describe(stored, settings), message="upload complete"))

    @app.route("/api/file/upload", methods=["PUT", "POST"])
    def upload():
        return receive_upload(lambda filename: FileName(new_id(), format_of(filename)))

    @app.route("/api/file/upload-force-name/<path:name>", methods=["PUT", "POST"])
    def upload_force_name(name: str):
        # Overwrite semantics: a forced name replaces what is stored under it, as an
        # S3 PUT does; `If-None-Match: *` asks for create-only and gets 412 instead.
        def refuse_existing(target: FileName) -> None:
            create_only = request.headers.get("If-None-Match", "").strip() == "*"
            if not create_only and caller().user is None:
                return
            try:
                existing = store.stat(target.id)
            except ObjectNotFound:
                return
            if not caller().may_act_on(stored_file_owner(existing.metadata)):
                raise not_found(target.id)  # another user's file: never replaced
            if not create_only:
                return
            raise ApiError(412, f"name '{target.id}' already exists and If-None-Match: * "
                                "forbids overwriting it", field="name")

        return receive_upload(lambda filename: parse_forced_name(name, filename),
                              refuse_existing)

    # -- metadata, delete, download -----------------------------------------
    def not_found(file_id: str) -> ApiError:
        return ApiError(404, f"no file with id '{file_id}'", field="id")

    def stat_or_404(file_id: str, owners_only: bool = True) -> StoredObject:
        """The file's object; 404 when it does not exist, or (`owners_only`) belongs to
        another user: the same answer, so others' names stay unknown."""
        try:
            obj = store.stat(file_id)
        except ObjectNotFound:
            raise not_found(file_id) from None
        if owners_only and not caller().may_act_on(stored_file_owner(obj.metadata)):
            raise not_found(file_id)
        return obj

    @app.get("/api/file/find/<path:file_id>")
    def find(file_id: str):
        obj = stat_or_404(validate_id(file_id))
        return jsonify(file_envelope(describe(obj, settings)))

    @app.delete("/api/file/delete/<path:file_id>")
    def delete(file_id: str):
        obj = stat_or_404(validate_id(file_id))
        store.delete(obj.key)
        return jsonify(file_envelope(describe(obj, settings), message="file deleted"))

    @app.route("/api/file/retrieve/<path:name>", methods=["GET", "HEAD"])
    def retrieve(name: str):
        wanted = parse_name(name)
        # A link is a capability, unless the operator asked for owner-only retrieval.
        obj = stat_or_404(wanted.id, owners_only=settings.owner_only_retrieval)
        if obj.metadata.get("format", "bin") != wanted.format:
            raise ApiError(404, f"no file named '{name}' (file '{wanted.id}' is "
                                f"'.{obj.metadata.get('format', 'bin')}')", field="name")
        headers = {
            "ETag": f'"{obj.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'inline; filename="{wanted}"',
        }
        if etag_matches(request.headers.get("If-None-Match"), obj.etag):
            return Response(status=304, headers=headers)
        try:
            byte_range = parse_range(request.headers.get("Range"), obj.size)
        except RangeNotSatisfiable:
            raise ApiError(416, f"Range '{request.headers.get('Range')}' is outside the "
                                f"{obj.size} bytes of '{name}'", field="Range",
                           headers={"Content-Range": f"bytes */{obj.size}"}) from None
        if_range = request.headers.get("If-Range")
        if byte_range and if_range and if_range.strip('"') != obj.etag:
            byte_range = None
        status, offset, length = 200, 0, obj.size
        if byte_range:
            status, offset, length = 206, byte_range.start, byte_range.length
            headers["Content-Range"] = byte_range.content_range(obj.size)
        headers["Content-Length"] = str(length)
        if request.method == "HEAD":
            return Response(status=status, headers=headers, content_type=obj.content_type)
        chunks = store.open_range(obj.key, offset, length if byte_range else 0)
        return Response(_counted(chunks), status=status, headers=headers,
                        content_type=obj.content_type, direct_passthrough=True)

    # -- operations ------------------------------------------------------------
    add_gateway_answers(app)

    @app.get("/health")
    def health():
        if settings.server.draining():
            return error_response(503, "shutting down", {"objectStorage": "not checked"})
        try:
            store.ping()
        except StorageUnavailable as exc:
            return error_response(503, str(exc), {"objectStorage": "down"})
        return jsonify(file_envelope({"objectStorage": "up", "bucket": store.bucket},
                                     message="ok"))

    return app


def _counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        for chunk in chunks:
            metrics.BYTES_OUT.inc(len(chunk))
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
