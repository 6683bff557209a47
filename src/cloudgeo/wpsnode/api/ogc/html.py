"""The OGC API's HTML pages (the `html` conformance class): when they are wanted, and
how they are rendered. Server-rendered Jinja (autoescaped), scripts only from our own
static files, under a Content-Security-Policy that allows nothing else."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request

from cloudgeo.wpsnode.catalog.kinds import REFERENCE_KINDS, UNSUPPORTED

# Our pages: own scripts and styles only. Swagger UI sets inline styles.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SWAGGER_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def wants_html() -> bool:
    """`?f=html`, or a browser's Accept (text/html preferred to JSON); `?f=json` and
    every client that asks for JSON or anything (*/*) get JSON."""
    chosen = request.args.get("f")
    if chosen:
        return chosen == "html"
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > \
        request.accept_mimetypes["application/json"]


def page(template: str, csp: str = CSP, **context: Any) -> Response:
    response = Response(render_template(template, **context), mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def form_fields(process: dict[str, Any]) -> list[dict[str, Any]]:
    """One form control per input a web caller can give: pure."""
    fields = []
    for spec in process["inputs"]:
        kind = spec["dataType"]
        if kind == UNSUPPORTED:
            continue
        control = ("file" if kind in REFERENCE_KINDS else
                   {"number": "number", "boolean": "boolean", "enum": "select"}.get(kind, "text"))
        fields.append({
            "name": spec["name"], "title": spec["title"] or spec["name"],
            "help": spec.get("help", ""), "control": control,
            "required": not spec["optional"] and spec.get("default") is None,
            "default": spec.get("default"), "options": spec.get("options") or [],
            "multiple": bool(spec.get("allowMultiple")),
            "step": "1" if spec.get("integer") else "any",
        })
    return fields
