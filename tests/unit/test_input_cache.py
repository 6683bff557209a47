"""The per-worker cache of read-only inputs: bounded, and never hands out altered files."""

from __future__ import annotations

import os

from cloudgeo.wpsnode.inputs.cache import InputCache


def entry(cache: InputCache, key: str, size: int = 10) -> str:
    folder = cache.folder_for(key)
    (folder / "layer.shp").write_bytes(b"x" * size)
    cache.put(key, folder, f"layer {key}")
    return key


def test_hits_and_least_recently_used_eviction(tmp_path):
    lookups: list[str] = []
    cache = InputCache(tmp_path, max_entries=2, max_bytes=1000, on_lookup=lookups.append)
    assert cache.get("a") is None
    entry(cache, "a")
    entry(cache, "b")
    assert cache.get("a") == "layer a"  # now the most recent
    entry(cache, "c")  # evicts b, the least recently used
    assert cache.get("b") is None
    assert not (tmp_path / "b").exists()  # its files are removed with it
    assert cache.get("a") == "layer a" and cache.get("c") == "layer c"
    assert lookups == ["miss", "hit", "miss", "hit", "hit"]


def test_bytes_bound_the_cache_and_too_large_an_input_is_not_kept(tmp_path):
    cache = InputCache(tmp_path, max_entries=10, max_bytes=25)
    entry(cache, "a")
    entry(cache, "b")
    entry(cache, "c")  # 30 bytes in all: the oldest goes
    assert list(cache.entries) == ["b", "c"]
    entry(cache, "huge", size=26)
    assert "huge" not in cache.entries and not (tmp_path / "huge").exists()


def test_an_entry_whose_files_changed_is_dropped_not_served(tmp_path):
    lookups: list[str] = []
    cache = InputCache(tmp_path, max_entries=4, max_bytes=1000, on_lookup=lookups.append)
    entry(cache, "edited")
    entry(cache, "added")
    entry(cache, "touched")
    (tmp_path / "edited" / "layer.shp").write_bytes(b"y" * 9)  # truncated by a job
    (tmp_path / "added" / "layer.qix").write_bytes(b"index")  # a spatial index written
    shp = tmp_path / "touched" / "layer.shp"
    os.utime(shp, ns=(shp.stat().st_atime_ns, shp.stat().st_mtime_ns + 1))  # same size
    for key in ("edited", "added", "touched"):
        assert cache.get(key) is None
        assert not (tmp_path / key).exists()
    assert lookups == ["altered"] * 3


def test_no_entries_means_off(tmp_path):
    assert not InputCache(tmp_path, 0, 1000).enabled
