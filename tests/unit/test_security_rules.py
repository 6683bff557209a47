"""The pure security rules: publication policy, text and expression checks, redaction,
the credential hand-over and caller identification."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudgeo.common.envelope import ApiError
from cloudgeo.common.secrets import HANDOVER_VARIABLE, hand_over, take_over
from cloudgeo.wpsnode.caller import identify
from cloudgeo.wpsnode.catalog.policy import PublicationPolicy, load_table
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.expression_guard import function_problem
from cloudgeo.wpsnode.inputs.planning import plan_inputs
from cloudgeo.wpsnode.inputs.text_guard import text_problem
from cloudgeo.wpsnode.worker.redact import redact_paths


def process(identifier: str, *inputs: dict, provider: str | None = None) -> dict:
    return {"id": identifier, "provider": provider or identifier.split(":")[0],
            "inputs": [{"optional": True, "default": None, "dataType": i.get("dataType",
                                                                            i["type"]), **i}
                       for i in inputs], "destinations": [], "outputs": []}


BUFFER = process("native:buffer", {"name": "DISTANCE", "type": "number"})
SQL = process("qgis:executesql", {"name": "INPUT_QUERY", "type": "execute_sql",
                                  "dataType": "string"})
LAYOUT = process("native:printlayouttopdf", {"name": "LAYOUT", "type": "layout",
                                             "dataType": "unsupported", "optional": False})
PYTHON = process("qgis:advancedpythonfieldcalculator", {"name": "GLOBAL", "type": "string"})
TRANSLATE = process("gdal:translate", {"name": "EXTRA", "type": "string"},
                    {"name": "OPTIONS", "type": "string"})
ALL = {p["id"]: p for p in (BUFFER, SQL, LAYOUT, PYTHON, TRANSLATE)}


def published(policy: PublicationPolicy) -> set[str]:
    return set(policy.published(ALL)[0])


def test_rules_and_table_withhold_by_default():
    assert published(PublicationPolicy()) == {"native:buffer", "gdal:translate"}
    decisions = PublicationPolicy().published(ALL)[1]
    assert "SQL" in decisions["qgis:executesql"].reason
    assert "layout" in decisions["native:printlayouttopdf"].reason
    assert "Python" in decisions["qgis:advancedpythonfieldcalculator"].reason


def test_gdal_raw_command_line_parameter_is_withheld_from_a_published_process():
    kept = PublicationPolicy().published(ALL)[0]["gdal:translate"]
    assert [i["name"] for i in kept["inputs"]] == ["OPTIONS"]


def test_include_and_exclude_globs():
    assert published(PublicationPolicy.from_globs(include=["gdal:*"])) == {"gdal:translate"}
    assert published(PublicationPolicy.from_globs(exclude=["native:*"])) == {"gdal:translate"}
    # A wildcard never publishes a withheld algorithm; naming it exactly does.
    assert "qgis:advancedpythonfieldcalculator" not in published(
        PublicationPolicy.from_globs(include=["qgis:*", "*"]))
    named = PublicationPolicy.from_globs(include=["*", "qgis:advancedpythonfieldcalculator"])
    decision = named.decide(PYTHON)
    assert decision.published and decision.overridden
    assert published(PublicationPolicy.from_globs(
        include=["qgis:advancedpythonfieldcalculator"],
        exclude=["qgis:advancedpythonfieldcalculator"])) == set()


def test_the_reviewed_table_has_a_reason_on_every_line():
    table = load_table()
    assert len(table) >= 25 and all(reason for reason in table.values())
    assert table["native:filedownloader"]


@pytest.mark.parametrize(("provider", "kind", "value"), [
    ("native", "string", "file:///etc/passwd"), ("native", "string", "/vsizip//tmp/a.zip"),
    ("native", "string", "/etc/passwd"), ("native", "string", "../../x"),
    ("native", "string", "+proj=x +nadgrids=/etc/passwd"), ("native", "string", "a\x00b"),
    ("otb", "string", 'a"; touch /tmp/x; "'), ("otb", "string", "$(id)"),
    ("otb", "expression", "`id`"), ("otb", "field", "a;id"), ("grass7", "string", "a\nb"),
    ("grass7", "string", "a\\b"), ("gdal", "string", "ELEV -fl 10"),
    ("gdal", "string", 'x" -co "y'), ("gdal", "expression", "A --config X Y"),
])
def test_texts_that_reach_files_shells_or_options_are_refused(provider, kind, value):
    assert text_problem(provider, kind, value)


@pytest.mark.parametrize(("provider", "kind", "value"), [
    ("native", "string", "road name"), ("native", "expression", '"a" / 2 > 3'),
    ("native", "expression", "CASE\nWHEN 1 THEN 2 END"), ("native", "string", "/"),
    ("otb", "string", "im1b1 > 0 ? 1 : 0"), ("grass7", "string", "cat > 10 AND name = 'a'"),
    ("gdal", "string", "A - B"), ("gdal", "string", "-1"), ("otb", "field", "id"),
])
def test_ordinary_texts_pass(provider, kind, value):
    assert text_problem(provider, kind, value) is None


def test_plan_refuses_crs_other_than_authority_codes():
    reproject = process("native:reprojectlayer", {"name": "TARGET_CRS", "type": "crs"})
    assert plan_inputs(reproject, {"TARGET_CRS": "EPSG:3857"})["literals"]["TARGET_CRS"]
    for bad in ("+init=/etc/passwd:x", "/etc/passwd", "EPSG:4326 $(id)"):
        with pytest.raises(InputError) as refused:
            plan_inputs(reproject, {"TARGET_CRS": bad})
        assert refused.value.name == "TARGET_CRS"
    extent = process("native:extenttolayer", {"name": "INPUT", "type": "extent"})
    with pytest.raises(InputError):
        plan_inputs(extent, {"INPUT": "0,1,0,1 [+init=/etc/passwd:x]"})


def test_guarded_url_parameter_goes_to_the_href_check():
    downloader = process("native:filedownloader", {"name": "URL", "type": "string"})
    seen = []

    def check(name, href):
        seen.append((name, href))
        raise InputError(name, "refused")

    with pytest.raises(InputError):
        plan_inputs(downloader, {"URL": "file:///etc/passwd"}, check_href=check)
    assert seen == [("URL", "file:///etc/passwd")]


def test_expression_function_rules():
    assert "env()" in function_problem({"env", "var"}, {"x"})
    assert "eval()" in function_problem({"eval"}, set())
    assert "run time" in function_problem({"var", "concat"}, {""})
    assert "@project_path" in function_problem({"var"}, {"project_path"})
    assert function_problem({"concat", "var", "buffer"}, {"layer_name", "feature"}) is None


def test_redaction_keeps_names_and_links():
    job = Path("/srv/state/jobs/abc")
    message = (f"Could not write {job}/out/OUTPUT.tif; {job}/in/INPUT/0/p.shp: bad; "
               "/usr/lib/x/libgdal.so; see http://gw:9000/api/file/retrieve/1.zip; A / 2")
    redacted = redact_paths(message, job)
    assert "/srv" not in redacted and "/usr" not in redacted
    assert "OUTPUT" in redacted and "INPUT" in redacted and "libgdal.so" in redacted
    assert "http://gw:9000/api/file/retrieve/1.zip" in redacted and "A / 2" in redacted


def test_credentials_are_handed_over_outside_the_environment(tmp_path):
    environ = {"CLOUDGEO_S3_SECRET_KEY": "s3cr3t", "CLOUDGEO_REDIS_URL": "redis://:pw@r",
               "PATH": "/bin"}
    clean = hand_over(environ, tmp_path)
    assert "CLOUDGEO_S3_SECRET_KEY" not in clean and "CLOUDGEO_REDIS_URL" not in clean
    handover = Path(clean[HANDOVER_VARIABLE])
    assert oct(handover.stat().st_mode & 0o777) == "0o600"
    merged = take_over(clean)
    assert merged["CLOUDGEO_S3_SECRET_KEY"] == "s3cr3t" and HANDOVER_VARIABLE not in merged
    assert not handover.exists() and "CLOUDGEO_S3_SECRET_KEY" not in os.environ
    assert take_over({"PATH": "/bin"}) == {"PATH": "/bin"}


def test_caller_identification():
    assert identify({"X-User": "alice"}, "", frozenset()).user is None  # no auth: ignored
    alice = identify({"X-User": "alice"}, "X-User", frozenset({"root"}))
    assert alice.user == "alice" and not alice.admin
    assert alice.may_see("alice") and not alice.may_see("bob") and not alice.may_see(None)
    assert identify({"X-User": "root"}, "X-User", frozenset({"root"})).may_see("bob")
    with pytest.raises(ApiError) as refused:
        identify({}, "X-User", frozenset())
    assert refused.value.status == 401
