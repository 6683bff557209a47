"""Input planning against process descriptions, without QGIS or servers."""

from __future__ import annotations

import pytest

from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.planning import plan_inputs


def spec(name, data_type, **extra):
    return {"name": name, "title": name, "type": extra.pop("type", data_type),
            "dataType": data_type, "optional": extra.pop("optional", False),
            "advanced": False, "default": extra.pop("default", None), **extra}


PROCESS = {
    "id": "test:all",
    "inputs": [
        spec("LAYER", "vector"),
        spec("LAYERS", "raster", type="multilayer", allowMultiple=True, optional=True),
        spec("N", "number", integer=True, minimum=1, maximum=10, default=5),
        spec("X", "number", optional=True),
        spec("FLAG", "boolean", default=False),
        spec("STYLE", "enum", options=["Round", "Flat", "Square"], default=0),
        spec("MODES", "enum", options=["a", "b", "c"], allowMultiple=True, optional=True),
        spec("EXTENT", "extent", optional=True),
        spec("POINT", "point", optional=True),
        spec("CRS", "crs", optional=True),
        spec("FIELDS", "field", allowMultiple=True, optional=True),
        spec("BAND", "band", optional=True),
        spec("RANGE", "range", optional=True),
        spec("TABLE", "matrix", optional=True),
        spec("LAYOUT", "unsupported", type="layout", optional=True),
    ],
    "destinations": [
        {**spec("OUTPUT", "vectorOutput", type="sink"), "formats": ["gpkg", "geojson", "shp"]},
        {**spec("REPORT", "fileOutput", type="fileDestination", optional=True),
         "formats": ["html"]},
    ],
}
HREF = "http://127.0.0.1:9000/api/file/retrieve/abc.zip"


def plan(**inputs):
    return plan_inputs(PROCESS, {"LAYER": HREF, **inputs})


def refused(field, *words, outputs=None, **inputs):
    with pytest.raises(InputError) as info:
        plan_inputs(PROCESS, {"LAYER": HREF, **inputs}, outputs)
    assert info.value.field == field
    for word in words:
        assert word in info.value.message
    return info.value


def test_minimal_plan_uses_qgis_defaults_and_required_outputs():
    result = plan()
    assert result["references"] == {"LAYER": {"kind": "vector", "multiple": False,
                                               "items": [{"href": HREF}]}}
    assert result["literals"] == {}
    assert result["destinations"] == {"OUTPUT": "gpkg"}  # optional REPORT not made


def test_literal_conversions():
    result = plan(N="7", X=2.5, FLAG="true", STYLE="square", MODES=["a", 2],
                  EXTENT=[0, 1, 10, 11], POINT={"x": 1, "y": 2, "crs": "EPSG:4326"},
                  CRS=3857, FIELDS="name", BAND="2", RANGE=[1, 5], TABLE=[[1, 2], [3, 4]])
    assert result["literals"] == {
        "N": 7, "X": 2.5, "FLAG": True, "STYLE": 2, "MODES": [0, 2],
        "EXTENT": "0.0,10.0,1.0,11.0", "POINT": "1.0,2.0 [EPSG:4326]", "CRS": "EPSG:3857",
        "FIELDS": ["name"], "BAND": 2, "RANGE": "1.0,5.0", "TABLE": [1, 2, 3, 4]}


def test_qgis_text_forms_pass_through():
    result = plan(EXTENT="0,10,1,11 [EPSG:3857]", POINT="5,6")
    assert result["literals"]["EXTENT"] == "0,10,1,11 [EPSG:3857]"
    assert result["literals"]["POINT"] == "5,6"


@pytest.mark.parametrize(("field", "value", "words"), [
    ("N", "x", ["number"]), ("N", 2.5, ["whole number"]), ("N", 0, ["at least 1"]),
    ("N", 11, ["at most 10"]), ("N", True, ["number"]), ("X", float("nan"), ["number"]),
    ("FLAG", "maybe", ["true or false"]), ("STYLE", "Pointy", ["Pointy", "Round"]),
    ("STYLE", 3, ["out of range"]), ("STYLE", [0], ["one option"]),
    ("EXTENT", [0, 1, 2], ["4 numbers"]), ("EXTENT", [10, 0, 0, 10], ["minimum above"]),
    ("EXTENT", "nonsense", ["xmin,xmax"]), ("POINT", "1;2", ["x,y"]),
    ("CRS", "", ["CRS"]), ("BAND", 0, ["at least 1"]), ("TABLE", 5, ["list"]),
    ("LAYOUT", "a", ["'layout'", "cannot be given"]), ("NOPE", 1, ["no such input"]),
])
def test_bad_literals_name_the_input(field, value, words):
    refused(field, *words, **{field: value})


def test_layers():
    result = plan(LAYERS=[HREF, {"type": "reference", "href": HREF}])
    assert result["references"]["LAYERS"]["items"] == [{"href": HREF}, {"href": HREF}]
    single = plan(LAYERS=HREF)  # one layer where a list is allowed
    assert single["references"]["LAYERS"]["multiple"] is True
    inline = plan(LAYER={"type": "FeatureCollection", "features": []})
    assert inline["references"]["LAYER"]["items"] == [
        {"geojson": {"type": "FeatureCollection", "features": []}}]
    refused("LAYER", "one layer", LAYER=[HREF, HREF])
    refused("LAYER", "reference", LAYER={"type": "reference"})
    refused("LAYER", "reference", LAYER=42)
    refused("LAYERS", "empty", LAYERS=[])
    with pytest.raises(InputError, match="required"):
        plan_inputs(PROCESS, {})


def test_href_checker_is_applied_to_every_link():
    seen = []

    def check(name, href):
        seen.append((name, href))
        if "evil" in href:
            raise InputError(name, "not allowed")

    plan_inputs(PROCESS, {"LAYER": HREF, "LAYERS": [HREF, HREF]}, check_href=check)
    assert seen == [("LAYER", HREF), ("LAYERS", HREF), ("LAYERS", HREF)]
    with pytest.raises(InputError, match="not allowed"):
        plan_inputs(PROCESS, {"LAYER": "http://evil/x"}, check_href=check)


def test_output_formats():
    assert plan_inputs(PROCESS, {"LAYER": HREF}, {"OUTPUT": {"format": "GeoJSON"}})[
        "destinations"] == {"OUTPUT": "geojson"}
    assert plan(OUTPUT="shp")["destinations"] == {"OUTPUT": "shp"}
    assert plan_inputs(PROCESS, {"LAYER": HREF}, {"REPORT": {}})["destinations"] == {
        "OUTPUT": "gpkg", "REPORT": "html"}
    refused("OUTPUT", "'tif'", outputs={"OUTPUT": {"format": "tif"}})
    refused("OTHER", "no file output", outputs={"OTHER": {"format": "gpkg"}})


def test_required_unsupported_parameter_blocks_the_process():
    process = {"id": "t:x", "inputs": [spec("MAP", "unsupported", type="layout")],
               "destinations": []}
    with pytest.raises(InputError, match="cannot run here"):
        plan_inputs(process, {})


def test_inputs_must_be_an_object():
    with pytest.raises(InputError) as info:
        plan_inputs(PROCESS, [("LAYER", HREF)])
    assert info.value.field == "inputs"
