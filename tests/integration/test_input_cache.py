"""A QGIS worker reuses a read-only input it fetched; an algorithm that edits its input
in place never gets (or spoils) the cached one."""

from __future__ import annotations

import re

import requests

from tests.support.wps import download, execute, ref, vector_summary


def cache_lookups(node_url: str) -> dict[str, float]:
    text = requests.get(f"{node_url}/metrics", timeout=10).text
    found = re.findall(r'^cloudgeo_wps_input_cache_total\{result="(\w+)"\} ([0-9.e+]+)$',
                       text, re.MULTILINE)
    return {result: float(value) for result, value in found}


def buffered_features(node_url: str, href: str) -> int:
    r = execute(node_url, "native:buffer", {"INPUT": ref(href), "DISTANCE": 1})
    assert r.status_code == 200, r.text
    return vector_summary(download(r.json()["data"]["output"]["OUTPUT"]))[0]


def test_repeated_inputs_come_from_the_cache_and_edits_in_place_do_not_reach_it(
        wps_node, samples):
    href = samples["points2"]
    before = cache_lookups(wps_node.url)
    # Two QGIS workers, each with its own cache: four jobs give each at least one hit.
    assert [buffered_features(wps_node.url, href) for _ in range(4)] == [10] * 4
    after = cache_lookups(wps_node.url)
    hits = after.get("hit", 0) - before.get("hit", 0)
    misses = after.get("miss", 0) - before.get("miss", 0)
    assert hits + misses == 4 and hits >= 2, (before, after)

    # The abuse: empty the layer in place, hoping the next caller's job reads it.
    r = execute(wps_node.url, "native:truncatetable", {"INPUT": ref(href)})
    assert r.status_code == 200 and r.json()["data"]["status"] == "succeeded", r.text
    assert cache_lookups(wps_node.url) == after  # its input was fetched, not looked up
    assert [buffered_features(wps_node.url, href) for _ in range(2)] == [10, 10]
