"""The file service's routes in Flask: each a line or two over files_api.py, and its
refusals mapped to the seed's JSON envelope in one place. The service's state (Files)
is the app's: create_app puts it in app.extensions."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from cloudgeo.common.flaskkit import json_error, respond
from cloudgeo.fileservice import files_api
from cloudgeo.fileservice.errors import (
    FileNotFound,
    FileRefused,
    FileTooLarge,
    NameTaken,
    RangeRefused,
    UploadRefused,
)
from cloudgeo.fileservice.files_api import Answer, Files, UploadBody, failure
from cloudgeo.storage.names import InvalidName
from cloudgeo.storage.objectstore import StorageUnavailable

KEY = "cloudgeo.files"

routes = Blueprint("files", __name__)


def files() -> Files:
    return current_app.extensions[KEY]


@routes.route("/api/file/upload", methods=["PUT", "POST"])
def upload():
    return respond(files_api.upload(files(), request.headers, upload_body()))


@routes.route("/api/file/upload-force-name/<path:name>", methods=["PUT", "POST"])
def upload_force_name(name: str):
    return respond(files_api.upload_force_name(files(), request.headers, upload_body(), name))


@routes.get("/api/file/find/<path:file_id>")
def find(file_id: str):
    return respond(files_api.find(files(), request.headers, file_id))


@routes.delete("/api/file/delete/<path:file_id>")
def delete(file_id: str):
    return respond(files_api.delete(files(), request.headers, file_id))


@routes.route("/api/file/retrieve/<path:name>", methods=["GET", "HEAD"])
def retrieve(name: str):
    return send(files_api.retrieve(files(), request.headers, name, request.method == "HEAD"))


@routes.get("/health")
def health():
    return respond(files_api.health(files()))


def upload_body() -> UploadBody:
    # The request's own stream: the multipart reader pulls it as S3 takes the parts.
    return UploadBody(request.headers.get("Content-Type", ""), request.content_length,
                      request.stream)


def send(answer: Answer) -> Response:
    """A download: its chunks passed through as S3 hands them over (never buffered)."""
    if answer.body is None:  # HEAD, 304
        return Response(status=answer.status, headers=answer.headers,
                        content_type=answer.content_type)
    return Response(answer.body, status=answer.status, headers=answer.headers,
                    content_type=answer.content_type, direct_passthrough=True)


# -- refusals in the seed's envelope: the one place they are mapped ------------------
STATUS: dict[type[FileRefused], int] = {UploadRefused: 400, FileNotFound: 404,
                                        NameTaken: 412, FileTooLarge: 413, RangeRefused: 416}


def http_headers(error: FileRefused) -> dict[str, str]:
    if isinstance(error, FileTooLarge):  # the rest of the body was left unread
        return {"Connection": "close"}
    if isinstance(error, RangeRefused):  # what the caller may ask for instead
        return {"Content-Range": f"bytes */{error.size}"}
    return {}


@routes.app_errorhandler(FileRefused)
def refused(exc: FileRefused):
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    return json_error(failure, status, exc.message, {"field": exc.field}, http_headers(exc))


@routes.app_errorhandler(InvalidName)
def invalid_name(exc: InvalidName):
    return json_error(failure, 400, str(exc), {"field": "name"})


@routes.app_errorhandler(StorageUnavailable)
def storage_down(exc: StorageUnavailable):
    return json_error(failure, 503, str(exc), None, {"Retry-After": "5"})
