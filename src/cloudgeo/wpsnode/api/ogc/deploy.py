"""OGC API – Processes – Part 2 (deploy, replace, undeploy): what a request body holds.

Pure. A body is either a QGIS `.model3` document itself (XML), or an OGC application
package (`application/ogcapppkg+json`) wrapping one: `processDescription` (its `id`
names the process, `model:<id>`) and `executionUnit`, the model inline as
`{"value": "<model3 XML>", "mediaType": ...}` (or a list holding one such unit).
Execution units by link are not fetched: the model comes in the request or not at all.
"""

from __future__ import annotations

import json
from typing import Any

from cloudgeo.common.envelope import ApiError

PART2 = "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf"
CONFORMANCE = [f"{PART2}/deploy-replace-undeploy", f"{PART2}/ogcapppkg"]
EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-2/1.0"
XML_TYPES = ("application/xml", "text/xml", "application/vnd.qgis.model3+xml")
PACKAGE_TYPES = ("application/ogcapppkg+json", "application/json")


def _unit_value(unit: Any) -> str:
    if isinstance(unit, list):
        if len(unit) != 1:
            raise ApiError(400, "'executionUnit' must hold exactly one QGIS model",
                           field="executionUnit")
        unit = unit[0]
    if isinstance(unit, str):
        return unit
    if not isinstance(unit, dict):
        raise ApiError(400, "'executionUnit' must be an object with the model as 'value'",
                       field="executionUnit")
    if "href" in unit:
        raise ApiError(400, "an execution unit by link is not fetched: send the .model3 "
                            "inline as executionUnit.value", field="executionUnit.href")
    value = unit.get("value", unit.get("unit"))
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "'executionUnit.value' must be the .model3 document as text",
                       field="executionUnit.value")
    return value


def parse_body(content_type: str, body: bytes) -> tuple[str | None, str]:
    """(the process name the package gives, or None; the model's .model3 text)."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body must be UTF-8 text", field="body") from None
    if media in XML_TYPES or (not media and text.lstrip().startswith("<")):
        return None, text
    if media not in PACKAGE_TYPES:
        raise ApiError(415, f"{media or 'a body without a media type'} is not deployable: "
                            "send a QGIS .model3 (application/xml) or an OGC application "
                            "package (application/ogcapppkg+json) wrapping one",
                       field="Content-Type")
    try:
        package = json.loads(text)
    except ValueError as exc:
        raise ApiError(400, f"the application package is not JSON: {exc}",
                       field="body") from None
    if not isinstance(package, dict) or "executionUnit" not in package:
        raise ApiError(400, "an application package needs 'executionUnit' (the .model3) "
                            "and may give 'processDescription'", field="executionUnit")
    content = _unit_value(package["executionUnit"])
    description = package.get("processDescription") or {}
    if isinstance(description, dict) and isinstance(description.get("process"), dict):
        description = description["process"]  # the 1.0 drafts' nesting
    if not isinstance(description, dict):
        raise ApiError(400, "'processDescription' must be an object",
                       field="processDescription")
    name = description.get("id")
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "'processDescription.id' must be text",
                       field="processDescription.id")
    if isinstance(name, str) and name.startswith("model:"):
        name = name[len("model:"):]
    return name, content
