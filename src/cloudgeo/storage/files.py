"""The metadata every stored file carries, whoever stores it (file service or WPS node).

Keeping it with the object means `find` and `retrieve` need no other database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, unquote

OWNER = "owner"


def stored_file_metadata(fmt: str, original_name: str | None,
                         owner: str | None = None) -> dict[str, str]:
    """S3 user metadata (ASCII only, so the original name and the owner are
    percent-encoded). `owner`: the authenticated user who uploaded it, or whose job made
    it; none without authentication."""
    metadata = {
        "format": fmt,
        "original-name": quote(original_name or "", safe=""),
        "uploaded-at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    if owner is not None:
        metadata[OWNER] = quote(owner, safe="")
    return metadata


def stored_file_owner(metadata: dict[str, str]) -> str | None:
    value = metadata.get(OWNER)
    return unquote(value) if value is not None else None
