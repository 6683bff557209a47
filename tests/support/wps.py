"""Calls to a WPS node and checks on what comes back."""

from __future__ import annotations

from pathlib import Path

import requests

from cloudgeo import client
from cloudgeo.wpsnode.catalog.policy import REVIEW

# What the default publication policy publishes of this QGIS (the review is checked
# against QGIS itself in tests/integration/test_publication.py).
PUBLISHED_BY_DEFAULT = sum(1 for line in REVIEW.read_text().splitlines()
                           if line.split("\t")[1:2] == ["published"])


def execute(node_url: str, identifier: str, inputs: dict, **extra) -> requests.Response:
    return requests.post(f"{node_url}/jobs", json={"identifier": identifier, "inputs": inputs,
                                                   **extra}, timeout=300)


def ref(href: str) -> dict:
    return {"type": "reference", "href": href}


# Set by the session fixture in conftest: downloads land under the session's state
# folder, which is removed at the end of the session.
DOWNLOADS: list[Path] = []


def download(url: str, folder: Path | None = None) -> Path:
    return client.download(url, folder or DOWNLOADS[0], timeout=60)


def vector_summary(path: Path) -> tuple[int, str, list]:
    """(feature count, geometry type name, features' areas) of the first layer."""
    from osgeo import ogr

    source = ogr.Open(str(path) if path.suffix != ".zip" else f"/vsizip/{path}")
    layer = source.GetLayer(0)
    areas, kinds = [], set()
    for feature in layer:
        geometry = feature.GetGeometryRef()
        kinds.add(ogr.GeometryTypeToName(geometry.GetGeometryType()))
        areas.append(geometry.GetArea())
    return layer.GetFeatureCount(), "/".join(sorted(kinds)), areas


def raster_array(path: Path, band: int = 1):
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(band).ReadAsArray().astype("float64")
