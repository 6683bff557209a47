"""What an OGC API execute request asks to get back (api/ogc/execution.py): pure."""

from __future__ import annotations

import pytest

from cloudgeo.common.envelope import ApiError
from cloudgeo.wpsnode.api.ogc.execution import (
    Delivery,
    delivered,
    flat,
    link_header,
    parse_delivery,
)

PROCESS = {"id": "qgis:basicstatisticsforfields", "outputs": [
    {"name": "OUTPUT_HTML_FILE", "type": "outputHtml", "dataType": "file"},
    {"name": "COUNT", "type": "outputNumber", "dataType": "literal"},
    {"name": "MEAN", "type": "outputNumber", "dataType": "literal"}]}
HTML = "http://127.0.0.1:9000/api/file/retrieve/3f2a9c.html"
OUTPUT = {"OUTPUT_HTML_FILE": HTML, "COUNT": 10, "MEAN": 4.5}


@pytest.mark.parametrize(("body", "field"), [
    ({"response": "xml"}, "response"),
    ({"outputs": ["COUNT"]}, "outputs"),
    ({"outputs": {"NOPE": {}}}, "outputs.NOPE"),
    ({"outputs": {"COUNT": "value"}}, "outputs.COUNT"),
    ({"outputs": {"OUTPUT_HTML_FILE": {"transmissionMode": "inline"}}},
     "outputs.OUTPUT_HTML_FILE.transmissionMode"),
    ({"outputs": {"COUNT": {"transmissionMode": "reference"}}},
     "outputs.COUNT.transmissionMode"),
])
def test_a_bad_delivery_is_a_400_naming_the_field(body, field):
    with pytest.raises(ApiError) as refused:
        parse_delivery(body, PROCESS)
    assert refused.value.status == 400 and refused.value.field == field
    assert field in refused.value.message


def test_defaults_files_by_reference_literals_by_value_every_output():
    delivery = parse_delivery({}, PROCESS)
    assert delivery == Delivery()
    chosen = delivered(OUTPUT, delivery)
    assert list(chosen) == ["OUTPUT_HTML_FILE", "COUNT", "MEAN"]
    html = chosen["OUTPUT_HTML_FILE"]
    assert (html.file_id, html.media_type, html.by_value) == ("3f2a9c", "text/html", False)
    assert not chosen["COUNT"].is_file and chosen["COUNT"].value == 10


def test_only_the_selected_outputs_in_the_mode_asked_and_kept_with_the_job():
    delivery = parse_delivery({"response": "raw", "outputs": {
        "OUTPUT_HTML_FILE": {"transmissionMode": "value"}, "COUNT": {}}}, PROCESS)
    assert Delivery.from_fields(delivery.to_fields()) == delivery
    parts = flat(delivered(OUTPUT, delivery))
    assert [(p.name, p.by_value) for p in parts] == [("OUTPUT_HTML_FILE", True),
                                                      ("COUNT", True)]


def test_a_list_output_stays_a_list_and_a_reference_is_a_link_header():
    chosen = delivered({"LAYERS": [HTML, HTML.replace("3f2a9c", "77aa")]}, Delivery())
    assert [p.file_id for p in chosen["LAYERS"]] == ["3f2a9c", "77aa"]
    assert link_header(chosen["LAYERS"][0]) == (
        f'<{HTML}>; rel="http://www.opengis.net/def/rel/ogc/1.0/results"; '
        'type="text/html"; title="LAYERS"')
