"""The seed's JSON envelopes, and the error every service raises for bad input.

The file service answers `{"message", "success", "data"}`, the WPS node
`{"success", "msg", "data"}`: both shapes are the seed's and kept exactly.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request we refuse: an HTTP status and a message naming the bad field or value."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


def file_envelope(data: Any, message: str = "success", success: bool = True) -> dict[str, Any]:
    return {"message": message, "success": success, "data": data}


def wps_envelope(data: Any, msg: str = "success", success: bool = True) -> dict[str, Any]:
    return {"success": success, "msg": msg, "data": data}


def error_data(error: ApiError) -> dict[str, Any] | None:
    return {"field": error.field} if error.field else None
