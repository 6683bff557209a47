"""Safe unpacking of input zips and finding layers in them."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.unpack import find_layers, safe_extract


def make_zip(path: Path, entries: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, "/etc/passwd")
    return path


def test_extracts_and_ranks_layers(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {
        "data/roads.shp": b"x", "data/roads.dbf": b"x", "b.geojson": b"{}", "dem.tif": b"x",
        "__MACOSX/._roads.shp": b"x", "readme.txt": b"x"})
    safe_extract(archive, tmp_path / "out", "INPUT", 10**6, 100)
    vectors = find_layers(tmp_path / "out", "vector")
    assert [p.name for p in vectors] == ["roads.shp", "b.geojson"]
    assert [p.name for p in find_layers(tmp_path / "out", "raster")] == ["dem.tif"]
    assert len(find_layers(tmp_path / "out", "file")) == 5


@pytest.mark.parametrize("name", ["../evil.shp", "a/../../evil.shp", "/abs/evil.shp",
                                  "..\\evil.shp"])
def test_traversal_is_refused(tmp_path, name):
    archive = make_zip(tmp_path / "a.zip", {name: b"x"})
    with pytest.raises(InputError, match="points outside") as info:
        safe_extract(archive, tmp_path / "out", "INPUT", 10**6, 100)
    assert info.value.field == "INPUT"
    assert not (tmp_path / "evil.shp").exists()


def test_links_are_refused(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"a.shp": b"x"}, link="passwd")
    with pytest.raises(InputError, match="is a link"):
        safe_extract(archive, tmp_path / "out", "INPUT", 10**6, 100)


def test_caps(tmp_path):
    many = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(11)})
    with pytest.raises(InputError, match="11 entries"):
        safe_extract(many, tmp_path / "o1", "INPUT", 10**6, 10)
    big = make_zip(tmp_path / "big.zip", {"a.bin": b"\0" * 5000})
    with pytest.raises(InputError, match="more than 4000 bytes"):
        safe_extract(big, tmp_path / "o2", "INPUT", 4000, 10)


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a valid zip"):
        safe_extract(path, tmp_path / "o", "INPUT", 100, 10)
