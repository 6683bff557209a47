"""Which media type an RFC 7807 problem document goes out as: pure.

RFC 7807 names `application/problem+json`; OGC API – Processes 1.0's OpenAPI declares
its exceptions as `application/json`, and clients written to it (OGC's test suite
among them) send `Accept: application/json`. The body is the same either way; the
label follows what the client accepts.
"""

from __future__ import annotations

from collections.abc import Iterable

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"


def problem_media_type(accept: Iterable[tuple[str, float]]) -> str:
    """`application/problem+json` when the client accepts it by name or says nothing
    particular (no Accept, `*/*`, other types); `application/json` when it accepts
    application/json and not problem+json. `accept` is (media type, quality) pairs,
    as werkzeug's `request.accept_mimetypes` iterates."""
    accepted = {value.split(";", 1)[0].strip().lower() for value, quality in accept
                if quality > 0}
    if PROBLEM_JSON not in accepted and JSON in accepted:
        return JSON
    return PROBLEM_JSON
