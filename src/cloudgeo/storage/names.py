"""File ids, names (`id.ext`) and formats: pure rules, no I/O.

Shared by everything that stores files (the file service's uploads, the WPS node's
inputs and outputs), so it lives with storage rather than in either service.

An id is the object key; it never contains a dot, so `id.ext` splits
unambiguously on its last dot. Generated ids are 32 hex digits, as the seed's.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from dataclasses import dataclass

MAX_NAME_LENGTH = 128
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_FORMAT = re.compile(r"[a-z0-9]{1,16}")
DEFAULT_FORMAT = "bin"

# Types the standard library does not know, for the formats GIS users move around.
_GEO_TYPES = {
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "zip": "application/zip",
    "shp": "application/x-esri-shape",
    "kml": "application/vnd.google-earth.kml+xml",
    "gml": "application/gml+xml",
    "csv": "text/csv",
}


class InvalidName(ValueError):
    """A file id or name a client sent breaks the naming rules; the message says which."""


@dataclass(frozen=True)
class FileName:
    id: str
    format: str

    def __str__(self) -> str:
        return f"{self.id}.{self.format}"


def new_id() -> str:
    return uuid.uuid4().hex


def _reject_unsafe(value: str, what: str) -> None:
    if not value:
        raise InvalidName(f"{what} is empty")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidName(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidName(f"{what} {value!r} contains control characters")
    if "/" in value or "\\" in value:
        raise InvalidName(f"{what} {value!r} contains a path separator")
    if ".." in value:
        raise InvalidName(f"{what} {value!r} contains '..'")


def validate_id(value: str, what: str = "id") -> str:
    _reject_unsafe(value, what)
    if not _ID.fullmatch(value):
        raise InvalidName(
            f"{what} {value!r} may hold only letters, digits, '-' and '_' "
            "and must start with a letter or digit"
        )
    return value


def parse_name(value: str, what: str = "name") -> FileName:
    """`id.ext` as used by retrieve; the extension is required."""
    _reject_unsafe(value, what)
    stem, dot, ext = value.rpartition(".")
    if not dot:
        raise InvalidName(f"{what} {value!r} must be '<id>.<extension>'")
    validate_id(stem, what)
    if not _FORMAT.fullmatch(ext.lower()):
        raise InvalidName(f"{what} {value!r} has an invalid extension {ext!r}")
    return FileName(stem, ext.lower())


def parse_forced_name(value: str, uploaded_filename: str | None) -> FileName:
    """`upload-force-name/{name}`: an id, or `id.ext`; without ext the upload's own is used."""
    if "." in value:
        return parse_name(value)
    return FileName(validate_id(value, "name"), format_of(uploaded_filename))


def format_of(filename: str | None) -> str:
    """The format of an uploaded file is its extension, lower-cased."""
    if not filename:
        return DEFAULT_FORMAT
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    _, dot, ext = base.rpartition(".")
    ext = ext.lower()
    if dot and _FORMAT.fullmatch(ext):
        return ext
    return DEFAULT_FORMAT


def content_type_for(fmt: str) -> str:
    if fmt in _GEO_TYPES:
        return _GEO_TYPES[fmt]
    guessed, _ = mimetypes.guess_type(f"file.{fmt}", strict=False)
    return guessed or "application/octet-stream"
