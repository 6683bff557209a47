"""The reviewed GDAL driver table against this GDAL, and the hostile layer corpus against it.

Quick and offline: files are only identified (`gdal.IdentifyDriverEx`), never opened, so no
secret is read and no request is sent (tests/support/hostile_layers.py says what opening
them does).
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from osgeo import gdal, gdal_array  # noqa: F401 (gdal_array registers the NUMPY driver)

from tests.support.hostile_layers import (
    HostileLayer,
    allowed_driver_layers,
    hostile_layers,
    zipped,
)

TABLE = Path(__file__).parents[2] / "src/cloudgeo/wpsnode/inputs/gdal-drivers.tsv"
HEADER = ["driver", "type", "verdict", "reason"]
# Some drivers (OGR_PDS) open the file a label names to identify it: name one that exists.
SECRET = str(Path(__file__).resolve())
URL = "http://127.0.0.1:9/hostile"  # never contacted: nothing here opens a file


def table_rows() -> list[dict[str, str]]:
    with TABLE.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == HEADER
    assert all(len(row) == len(HEADER) for row in rows), "every line has 4 tab-separated fields"
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def verdicts() -> dict[str, str]:
    return {row["driver"]: row["verdict"] for row in table_rows()}


def gdal_drivers() -> dict[str, str]:
    """ShortName -> raster, vector or raster+vector (the GNM network drivers, which are
    neither, count as vector)."""
    kinds = {}
    for index in range(gdal.GetDriverCount()):
        driver = gdal.GetDriver(index)
        raster = driver.GetMetadataItem(gdal.DCAP_RASTER) == "YES"
        vector = driver.GetMetadataItem(gdal.DCAP_VECTOR) == "YES"
        kinds[driver.ShortName] = ("raster+vector" if raster and vector
                                   else "raster" if raster else "vector")
    return kinds


def test_table_lists_every_driver_of_this_gdal_once():
    listed = [row["driver"] for row in table_rows()]
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    assert not duplicates, f"listed more than once: {duplicates}"
    drivers = gdal_drivers()
    assert sorted(set(drivers) - set(listed)) == [], "drivers of this GDAL missing from table"
    assert sorted(set(listed) - set(drivers)) == [], "table rows naming no driver of this GDAL"


def test_table_rows_are_well_formed():
    drivers = gdal_drivers()
    for row in table_rows():
        assert row["type"] == drivers[row["driver"]], row
        assert row["verdict"] in {"allowed", "refused"}, row
        assert row["reason"].strip().endswith("."), row


def test_allow_list_is_short():
    allowed = sorted(name for name, verdict in verdicts().items() if verdict == "allowed")
    assert 0 < len(allowed) <= 20, allowed
    for needed in ("GTiff", "GPKG", "ESRI Shapefile", "GeoJSON"):
        assert needed in allowed


def corpus() -> list[HostileLayer]:
    layers = hostile_layers(SECRET, URL) + allowed_driver_layers(SECRET, URL)
    return layers + [zipped(layer) for layer in layers]


@pytest.mark.parametrize("layer", corpus(), ids=lambda layer: layer.name)
def test_gdal_identifies_the_driver_each_entry_claims(layer: HostileLayer, tmp_path: Path):
    assert layer.kind in {"raster", "vector"}
    assert layer.reaches in {"file", "url"}
    path = tmp_path / layer.filename
    path.write_bytes(layer.content)
    if layer.filename.endswith(".zip"):
        # As the node takes a zip: unpacked to a folder (a label's ../ climbs out of a
        # /vsizip/ path only once unpacked).
        with zipfile.ZipFile(path) as archive:
            (entry,) = archive.namelist()
            archive.extractall(tmp_path / "unpacked")
        assert PurePosixPath(entry).stem == PurePosixPath(layer.filename).stem
        path = tmp_path / "unpacked" / entry
    claims = gdal.IdentifyDriverEx(str(path))
    assert claims is not None, f"{layer.name}: no driver identifies it"
    assert claims.ShortName == layer.driver
    # The driver that opens it as the kind of input it is given as gets the same verdict.
    flags = gdal.OF_RASTER if layer.kind == "raster" else gdal.OF_VECTOR
    opens = gdal.IdentifyDriverEx(str(path), flags)
    assert opens is not None
    table = verdicts()
    assert table[opens.ShortName] == table[layer.driver], opens.ShortName


def test_corpus_drivers_are_refused():
    table = verdicts()
    for layer in hostile_layers(SECRET, URL):
        assert table[layer.driver] == "refused", layer.name


def test_allowed_driver_entries_are_the_ones_an_allow_list_keeps():
    # These need the node's configuration and checks, not the allow-list (see the TSV
    # reasons); an entry whose driver becomes refused belongs in hostile_layers instead.
    table = verdicts()
    for layer in allowed_driver_layers(SECRET, URL):
        assert table[layer.driver] == "allowed", layer.name


def test_corpus_covers_files_and_urls_for_both_kinds():
    layers = hostile_layers(SECRET, URL)
    assert len({layer.name for layer in layers}) == len(layers)
    covered = {(layer.kind, layer.reaches) for layer in layers}
    assert covered == {("raster", "file"), ("raster", "url"), ("vector", "file"),
                       ("vector", "url")}


@pytest.mark.parametrize(("secret", "url"), [
    ("relative/secret", URL), ('/tmp/a"b', URL), ("/etc/passwd", "ftp://127.0.0.1/x"),
    ("/etc/passwd", "http://127.0.0.1:9/x?query=1"),
])
def test_refuses_what_it_cannot_embed(secret: str, url: str):
    with pytest.raises(ValueError):
        hostile_layers(secret, url)
