"""The builtin processes' input checks (pure), their settings, and delivery of a binary
literal."""

from __future__ import annotations

import time

import pytest

from cloudgeo.common.envsettings import SettingsError
from cloudgeo.wpsnode.api.ogc.execution import Delivery, delivered
from cloudgeo.wpsnode.builtin import check_inputs, enabled
from cloudgeo.wpsnode.builtin.echo import ECHO, echo
from cloudgeo.wpsnode.builtin.schema_object import as_json_schema
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.settings import WpsSettings


def test_echo_returns_each_checked_input_as_its_output():
    given = {"stringInput": "Value1", "doubleInput": 0, "arrayInput": [1, 2],
             "measureInput": {"value": {"measurement": 2, "uom": "m"}}}
    checked = check_inputs(ECHO, given)
    assert checked["measureInput"] == {"measurement": 2, "uom": "m"}  # qualified: its value
    assert ECHO.run(checked) == {"stringOutput": "Value1", "doubleOutput": 0,
                                 "arrayOutput": [1, 2],
                                 "measureOutput": {"measurement": 2, "uom": "m"}}


def test_images_become_qualified_base64_values_one_or_several():
    one = check_inputs(ECHO, {"imagesInput": "aGk="})["imagesInput"]
    assert one == {"value": "aGk=", "encoding": "base64", "mediaType": "image/png"}
    several = check_inputs(ECHO, {"imagesInput": [
        "aGk=", {"value": "aGk=", "mediaType": "image/jpeg"}]})["imagesInput"]
    assert [image["mediaType"] for image in several] == ["image/png", "image/jpeg"]


@pytest.mark.parametrize("given", [
    {"nope": 1},
    {"stringInput": 3},
    {"dateInput": "2026-12-03T10:00:00"},  # no offset
    {"dateInput": "2026-12-03"},
    {"doubleInput": -0.1},
    {"doubleInput": 10},  # the maximum is exclusive
    {"doubleInput": True},
    {"arrayInput": list(range(11))},
    {"complexObjectInput": [1]},
    {"featureCollectionInput": {"type": "Feature", "features": []}},
    {"imagesInput": {"value": "aGk=", "encoding": "hex"}},
    {"imagesInput": {"value": "aGk=", "script": "x"}},
    {"imagesInput": []},
    {"pause": 10.5},  # a caller holds a worker 10 s at most
    {"pause": -1},
    {"pause": "5"},
])
def test_a_bad_input_is_an_input_error_naming_it(given):
    with pytest.raises(InputError) as refused:
        check_inputs(ECHO, given)
    assert refused.value.name == next(iter(given)) and refused.value.status == 400


def test_bounds_below_an_exclusive_maximum_and_a_feature_collection_pass():
    for value in (0, 5, 9.999):
        assert check_inputs(ECHO, {"doubleInput": value}) == {"doubleInput": value}
    collection = {"type": "FeatureCollection", "features": []}
    assert check_inputs(ECHO, {"featureCollectionInput": collection})


def test_openapi_30_schema_objects_translate_to_json_schema():
    """Boolean exclusive bounds and `nullable` (OpenAPI 3.0) become JSON Schema's number
    bounds and null type, wherever a schema sits; a property named like a keyword is a
    name, not a keyword."""
    assert as_json_schema({"type": "number", "minimum": 0, "exclusiveMinimum": True,
                           "maximum": 10, "exclusiveMaximum": False}) == {
        "type": "number", "exclusiveMinimum": 0, "maximum": 10}
    assert as_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    nested = as_json_schema({
        "type": "object", "additionalProperties": False,
        "properties": {"exclusiveMaximum": {"type": "boolean", "nullable": True},
                       "n": {"allOf": [{"maximum": 1, "exclusiveMaximum": True}]}},
        "items": {"oneOf": [{"nullable": False, "type": "integer"}]}})
    assert nested == {
        "type": "object", "additionalProperties": False,
        "properties": {"exclusiveMaximum": {"type": ["boolean", "null"]},
                       "n": {"allOf": [{"exclusiveMaximum": 1}]}},
        "items": {"oneOf": [{"type": "integer"}]}}


def test_echo_schemas_are_openapi_30_schema_objects():
    """OGC API – Processes 1.0 describes schemas in OpenAPI 3.0 words: boolean exclusive
    bounds, no `const` (the whole check of every description against OGC's schemas is
    tests/unit/test_ogc_schemas.py)."""

    def keywords(schema) -> list[tuple[str, object]]:
        found = []
        if isinstance(schema, dict):
            for key, value in schema.items():
                found.append((key, value))
                found += keywords(value) if key != "properties" else [
                    k for v in value.values() for k in keywords(v)]
        elif isinstance(schema, list):
            found += [k for item in schema for k in keywords(item)]
        return found

    for described in (*ECHO.inputs.values(), *ECHO.outputs.values()):
        used = keywords(described["schema"])
        assert "const" not in {key for key, _ in used}
        assert all(isinstance(value, bool) for key, value in used
                   if key in ("exclusiveMinimum", "exclusiveMaximum"))


def test_pause_waits_then_echoes_the_other_inputs_and_is_not_an_output():
    """OGC's test suite runs echo asynchronously with `"pause": 5`, to ask for the
    results before they are ready."""
    assert "pause" in ECHO.inputs and ECHO.inputs["pause"]["minOccurs"] == 0
    assert not any(name.startswith("pause") for name in ECHO.outputs)
    assert next(iter(ECHO.inputs)) != "pause"  # the suite echoes the first input with it
    slept = []  # a double of time.sleep, recording what it was asked
    checked = check_inputs(ECHO, {"stringInput": "Value1", "pause": 5})
    assert echo(checked, sleep=slept.append) == {"stringOutput": "Value1"}
    assert slept == [5]
    assert echo({"stringInput": "Value2"}, sleep=slept.append) == {"stringOutput": "Value2"}
    assert slept == [5]  # no pause asked, no wait
    assert check_inputs(ECHO, {"pause": 0.5}) == {"pause": 0.5}
    started = time.monotonic()
    assert ECHO.run({"pause": 0.2}) == {}
    assert time.monotonic() - started >= 0.2


def test_a_date_time_with_offset_passes():
    for moment in ("2026-12-03T10:00:00Z", "2026-12-03T10:00:00.5+01:00"):
        assert check_inputs(ECHO, {"dateInput": moment}) == {"dateInput": moment}


def test_builtins_are_chosen_by_setting_and_an_unknown_one_stops_the_node(tmp_path):
    env = {"CLOUDGEO_WPS_STATE_DIR": str(tmp_path)}
    assert set(WpsSettings.from_env(env).builtins()) == {"echo"}
    assert WpsSettings.from_env({**env, "CLOUDGEO_WPS_BUILTIN_PROCESSES": ""}).builtins() == {}
    with pytest.raises(SettingsError, match="no builtin process \\['shell'\\]"):
        WpsSettings.from_env({**env, "CLOUDGEO_WPS_BUILTIN_PROCESSES": "echo,shell"})
    assert enabled(["echo"]) == {"echo": ECHO}


def test_a_binary_literal_is_delivered_with_its_media_type():
    image = {"value": "aGk=", "encoding": "base64", "mediaType": "image/jpeg"}
    part = delivered({"imagesOutput": image, "stringOutput": "x"}, Delivery())
    assert part["imagesOutput"].media_type == "image/jpeg"
    assert part["stringOutput"].media_type == "text/plain"
