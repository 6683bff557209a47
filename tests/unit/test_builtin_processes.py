"""The builtin processes' input checks (pure), their settings, and delivery of a binary
literal."""

from __future__ import annotations

import pytest

from cloudgeo.common.envsettings import SettingsError
from cloudgeo.wpsnode.api.ogc.execution import Delivery, delivered
from cloudgeo.wpsnode.builtin import check_inputs, enabled
from cloudgeo.wpsnode.builtin.echo import ECHO
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
    {"doubleInput": True},
    {"arrayInput": list(range(11))},
    {"complexObjectInput": [1]},
    {"featureCollectionInput": {"type": "Feature", "features": []}},
    {"imagesInput": {"value": "aGk=", "encoding": "hex"}},
    {"imagesInput": {"value": "aGk=", "script": "x"}},
    {"imagesInput": []},
])
def test_a_bad_input_is_an_input_error_naming_it(given):
    with pytest.raises(InputError) as refused:
        check_inputs(ECHO, given)
    assert refused.value.name == next(iter(given)) and refused.value.status == 400


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
