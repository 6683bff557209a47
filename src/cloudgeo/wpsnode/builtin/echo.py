"""The `echo` process: every input given comes back, unchanged, as its output; pure
but for `pause`, a wait before answering.

OGC's executable test suite for OGC API – Processes 1.0 runs its execution tests on a
process of this name (its `echoprocessid`); the inputs follow the echo process of the
standard's examples (core/examples/json/ProcessDescription.json): literals, a measure,
a date-time, an array, an object, a GeoJSON geometry, a bounding box, images (binary,
base64) and a GeoJSON feature collection. `fooInput` comes back as `fooOutput`;
`pause` (seconds, at most MAX_PAUSE) makes the job wait first and is not echoed.
Schemas are OpenAPI 3.0 schema objects, as OGC API – Processes 1.0 describes them
(boolean exclusive bounds, `enum` rather than `const`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cloudgeo.wpsnode.builtin.process import BuiltinProcess

IMAGE_TYPES = ("image/png", "image/jpeg", "image/tiff", "image/jp2")
# OGC's suite asks for the results of a job still running by executing echo with
# `"pause": 5`. Bounded: each paused job holds one of the node's workers.
PAUSE = "pause"
MAX_PAUSE = 10
GEOMETRY_TYPES = ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon"]


def _input(title: str, description: str, schema: dict[str, Any],
           max_occurs: int = 1) -> dict[str, Any]:
    return {"title": title, "description": description, "schema": schema,
            "minOccurs": 0, "maxOccurs": max_occurs}


INPUTS = {
    "stringInput": _input("String literal", "One of three words.",
                          {"type": "string", "enum": ["Value1", "Value2", "Value3"]}),
    "measureInput": _input("Measure", "A number with its unit of measure.", {
        "type": "object", "required": ["measurement", "uom"],
        "properties": {"measurement": {"type": "number"}, "uom": {"type": "string"},
                       "reference": {"type": "string", "format": "uri"}}}),
    "dateInput": _input("Date-time", "An RFC 3339 instant.",
                        {"type": "string", "format": "date-time"}),
    "doubleInput": _input("Double", "A number from 0 up to (not including) 10.",
                          {"type": "number", "format": "double", "minimum": 0,
                           "maximum": 10, "exclusiveMaximum": True, "default": 5}),
    "arrayInput": _input("Array", "2 to 10 whole numbers, as one value.",
                         {"type": "array", "minItems": 2, "maxItems": 10,
                          "items": {"type": "integer"}}),
    "complexObjectInput": _input("Object", "Any JSON object.", {"type": "object"}),
    "geometryInput": _input("Geometry", "A GeoJSON geometry.", {
        "type": "object", "required": ["type", "coordinates"],
        "properties": {"type": {"enum": GEOMETRY_TYPES}, "coordinates": {"type": "array"}}}),
    "boundingBoxInput": _input("Bounding box", "A bbox of 4 or 6 numbers, and its CRS.", {
        "type": "object", "required": ["bbox"],
        "properties": {
            "bbox": {"type": "array", "items": {"type": "number"},
                     "oneOf": [{"minItems": 4, "maxItems": 4},
                               {"minItems": 6, "maxItems": 6}]},
            "crs": {"type": "string", "format": "uri",
                    "default": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}}),
    "imagesInput": _input("Images", f"Up to 10 images ({', '.join(IMAGE_TYPES)}), base64.", {
        "oneOf": [{"type": "string", "contentEncoding": "base64", "contentMediaType": media}
                  for media in IMAGE_TYPES]}, max_occurs=10),
    "featureCollectionInput": _input("Feature collection", "A GeoJSON FeatureCollection.", {
        "type": "object", "required": ["type", "features"],
        "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                       "features": {"type": "array"}}}),
    # Not echoed. Last: the suite echoes the first input alongside it.
    PAUSE: _input("Pause", f"Seconds to wait before answering, 0 to {MAX_PAUSE} (not "
                           "echoed): a job that is still running for a while.",
                  {"type": "number", "minimum": 0, "maximum": MAX_PAUSE, "default": 0}),
}


def output_name(input_name: str) -> str:
    return input_name.removesuffix("Input") + "Output"


OUTPUTS = {output_name(name): {"title": spec["title"], "schema": spec["schema"]}
           for name, spec in INPUTS.items() if name != PAUSE}


def echo(inputs: dict[str, Any],
         sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    if inputs.get(PAUSE):
        sleep(inputs[PAUSE])
    return {output_name(name): value for name, value in inputs.items() if name != PAUSE}


ECHO = BuiltinProcess(
    id="echo", title="Echo",
    description="Returns every input it is given, unchanged, as the matching output "
                "(stringInput as stringOutput, ...). No QGIS: a check of the service itself.",
    inputs=INPUTS, outputs=OUTPUTS, run=echo, keywords=("test",),
    binary_media={"imagesInput": IMAGE_TYPES})
