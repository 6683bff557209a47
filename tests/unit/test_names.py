import pytest

from cloudgeo.storage.names import (
    FileName,
    InvalidName,
    content_type_for,
    format_of,
    new_id,
    parse_forced_name,
    parse_name,
    validate_id,
)


def test_generated_ids_are_32_hex_digits_and_unique():
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize(("filename", "fmt"), [
    ("point.zip", "zip"), ("NDVI.TIF", "tif"), ("a.b.gpkg", "gpkg"), ("noext", "bin"),
    (None, "bin"), ("", "bin"), ("C:\\data\\roads.geojson", "geojson"), ("x.", "bin"),
    ("weird.ex-t", "bin"),
])
def test_format_is_the_lowercased_extension(filename, fmt):
    assert format_of(filename) == fmt


@pytest.mark.parametrize(("name", "reason"), [
    ("a/b.tif", "path separator"), ("a\\b.tif", "path separator"), ("..tif", "'..'"),
    ("a..b", "'..'"), ("a\x01b.tif", "control characters"), ("x" * 129 + ".tif", "longer than"),
    ("", "empty"), ("abc", "'<id>.<extension>'"), (".tif", "empty"),
    ("a b.tif", "letters, digits"), ("abc.t!f", "invalid extension"),
])
def test_bad_names_are_refused_with_the_reason(name, reason):
    with pytest.raises(InvalidName, match=reason):
        parse_name(name)


def test_good_name_splits_on_the_last_dot():
    assert parse_name("7c4a5e4e6b844d0aa27dfaaf27b4dbf1.TIF") == FileName(
        "7c4a5e4e6b844d0aa27dfaaf27b4dbf1", "tif")


def test_ids_have_no_dots():
    with pytest.raises(InvalidName):
        validate_id("a.b")


def test_forced_name_takes_its_own_extension_or_the_uploads():
    assert parse_forced_name("roads", "x.geojson") == FileName("roads", "geojson")
    assert parse_forced_name("roads.gpkg", "x.geojson") == FileName("roads", "gpkg")


def test_geodata_content_types():
    assert content_type_for("tif") == "image/tiff"
    assert content_type_for("gpkg") == "application/geopackage+sqlite3"
    assert content_type_for("zip") == "application/zip"
    assert content_type_for("zzz") == "application/octet-stream"
