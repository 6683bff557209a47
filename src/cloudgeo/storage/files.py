"""The metadata every stored file carries, whoever stores it (file service or WPS node).

Keeping it with the object means `find` and `retrieve` need no other database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote


def stored_file_metadata(fmt: str, original_name: str | None) -> dict[str, str]:
    """S3 user metadata (ASCII only, so the original name is percent-encoded)."""
    return {
        "format": fmt,
        "original-name": quote(original_name or "", safe=""),
        "uploaded-at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
