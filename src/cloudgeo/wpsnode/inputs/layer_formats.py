"""Which GDAL/OGR drivers may open a caller's layer: a reviewed allow-list.

Many GDAL drivers follow references to other files, URLs or connections (a VRT reads
any file, a WMS description sends requests, a netCDF may name a remote path), so an
input is opened only with a driver that `gdal-drivers.tsv` (beside this file) marks
`allowed`: one line per driver of Debian 12's GDAL 3.6, each with the reason for its
verdict, as the publication review does for algorithms. An operator widens the list
with CLOUDGEO_WPS_INPUT_FORMATS_INCLUDE. The QGIS process is confined as well
(worker/sandbox.py), so a format that slips through still finds nothing to read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cloudgeo.wpsnode.errors import InputError

REVIEW = Path(__file__).with_name("gdal-drivers.tsv")
ALLOWED = "allowed"


@dataclass(frozen=True)
class DriverReview:
    driver: str
    type: str
    verdict: str
    reason: str


@cache
def reviewed_drivers() -> dict[str, DriverReview]:
    with open(REVIEW, newline="") as table:
        rows = csv.DictReader(table, delimiter="\t")
        return {row["driver"]: DriverReview(**row) for row in rows}


def allowed_drivers(include: tuple[str, ...] = ()) -> frozenset[str]:
    """The reviewed allow-list, widened by the drivers an operator names."""
    reviewed = {name for name, review in reviewed_drivers().items()
                if review.verdict == ALLOWED}
    return frozenset(reviewed | set(include))


def format_problem(path: str, allowed: frozenset[str]) -> str | None:
    """Why `path` may not be opened (its format is not allowed), or None.

    The driver that claims the file first, among all of GDAL's, is the one QGIS and the
    GDAL tools would use: it must be allowed. A file no driver claims is left to the
    algorithm (a style, a text file), which then reads it as it reads any file."""
    from osgeo import gdal

    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        driver = gdal.IdentifyDriverEx(path)
        if driver is None:
            return None
        if driver.ShortName not in allowed:
            review = reviewed_drivers().get(driver.ShortName)
            why = f" ({review.reason})" if review else ""
            return (f"is in the {driver.ShortName} format ({driver.LongName}), which is not "
                    f"accepted as an input{why}")
        return _overview_problem(gdal, path, driver.ShortName)
    finally:
        gdal.PopErrorHandler()


def _overview_problem(gdal, path: str, driver: str) -> str | None:
    """A GeoTIFF or JPEG 2000 may name its overviews' file in its own metadata, and GDAL
    opens that name with every driver (a VRT, a URL) once overviews are read."""
    dataset = gdal.OpenEx(path, gdal.OF_RASTER, allowed_drivers=[driver])
    if dataset is not None and dataset.GetMetadataItem("OVERVIEW_FILE", "OVERVIEWS"):
        return (f"is a {driver} file that names an external overview file "
                "(OVERVIEW_FILE), which is not accepted in an input")
    return None


def open_layer(name: str, kind: str, path: str, origin: str,
               allowed: frozenset[str]) -> Any:
    """The input as QGIS will read it: a checked, opened layer or, for plain files,
    the path. Raises InputError naming the input for a refused or unreadable one."""
    problem = format_problem(path, allowed)
    if problem:
        raise InputError(name, f"{origin} {problem}")
    from qgis.core import QgsMeshLayer, QgsRasterLayer, QgsVectorLayer

    openers = {
        "vector": [lambda: QgsVectorLayer(path, name, "ogr")],
        "raster": [lambda: QgsRasterLayer(path, name)],
        "mesh": [lambda: QgsMeshLayer(path, name, "mdal")],
        "layer": [lambda: QgsVectorLayer(path, name, "ogr"),
                  lambda: QgsRasterLayer(path, name)],
    }
    if kind not in openers:
        return path
    for opener in openers[kind]:
        layer = opener()
        if layer.isValid():
            return layer
    raise InputError(name, f"{origin} is not a readable {kind} layer")
