"""What a framework-free API function returns; the Flask side turns it into a response
(cloudgeo.common.flaskkit.respond)."""

from __future__ import annotations

from typing import Any, NamedTuple


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: Any  # the envelope (JSON); else text, or a download's chunks; None: no body
    content_type: str | None = None  # a download's (None: JSON, or no body)
