"""Why the file service refuses a request, in its own words: no HTTP status here (the
routes map each to the seed's JSON envelope in one place, fileservice/routes.py)."""

from __future__ import annotations


class FileRefused(Exception):
    """A refusal: `message` for the caller, `field` the part of the request at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


class UploadRefused(FileRefused):
    """The body is not a multipart/form-data upload with a file in the expected field."""


class FileTooLarge(FileRefused):
    """The upload is (or says it is) above the largest the service takes; the rest of
    its body is left unread."""


class FileNotFound(FileRefused):
    """No such file for this caller: unknown, another format, or another user's (the
    same answer, so that no caller learns which names others use)."""


class NameTaken(FileRefused):
    """A create-only upload (If-None-Match: *) over a name already stored."""


class RangeRefused(FileRefused):
    """A Range beyond the file's end; `size` is the file's, for the caller to ask again."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message, "Range")
        self.size = size
