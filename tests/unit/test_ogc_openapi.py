"""The OpenAPI document names every query parameter the OGC adapter reads."""

from __future__ import annotations

import re
from pathlib import Path

import cloudgeo.wpsnode.api.ogc as ogc
from cloudgeo.wpsnode.api.ogc.openapi import document

READS = re.compile(r"(?:args\.get|args\.getlist|args\[|_values\(args\.getlist,)"
                   r"""\s*\(?["'](\w+)["']""")


def read_parameters() -> set[str]:
    folder = Path(ogc.__file__).parent
    names: set[str] = set()
    for source in folder.glob("*.py"):
        names |= set(READS.findall(source.read_text()))
    return names


def test_every_query_parameter_read_is_documented():
    paths = document("http://x/ogcapi")["paths"]
    documented = {p["name"] for item in paths.values() for op in item.values()
                  for p in op["parameters"] if p["in"] == "query"}
    read = read_parameters()
    assert {"limit", "offset", "f", "q", "status", "processID", "datetime",
            "minDuration", "maxDuration", "type"} <= read  # the pattern finds them
    assert read <= documented, read - documented


def test_execute_documents_prefer_and_delivery():
    execute = document("http://x/ogcapi")["paths"]["/processes/{processId}/execution"]["post"]
    assert "Prefer" in {p["name"] for p in execute["parameters"]}
    body = execute["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert body["response"]["enum"] == ["document", "raw"]
    assert {"200", "201", "204", "400", "413"} <= set(execute["responses"])
