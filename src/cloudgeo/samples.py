"""Small sample data made on the fly with GDAL/OGR: what the walkthrough and tests upload."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path


def point_shapefile_zip(folder: Path, count: int = 10, seed: int = 1,
                        name: str = "point") -> Path:
    """A zipped shapefile of `count` points (EPSG:3857) with an `id` and a `name` field."""
    from osgeo import ogr, osr

    folder.mkdir(parents=True, exist_ok=True)
    shp_dir = folder / f"{name}-shp"
    shp_dir.mkdir(exist_ok=True)
    driver = ogr.GetDriverByName("ESRI Shapefile")
    source = driver.CreateDataSource(str(shp_dir / f"{name}.shp"))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3857)
    layer = source.CreateLayer(name, srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("id", ogr.OFTInteger))
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    rng = random.Random(seed)
    for index in range(count):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("id", index)
        feature.SetField("name", f"p{index}")
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(rng.uniform(0, 10_000), rng.uniform(0, 10_000))
        feature.SetGeometry(point)
        layer.CreateFeature(feature)
    source = None  # closes and flushes the shapefile
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for part in sorted(shp_dir.iterdir()):
            bundle.write(part, part.name)
    return archive


def four_band_geotiff(folder: Path, size: int = 64, name: str = "bands") -> Path:
    """A 4-band uint16 GeoTIFF (blue, green, red, near-infrared) with varied values."""
    import numpy as np
    from osgeo import gdal, osr

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), size, size, 4, gdal.GDT_UInt16)
    dataset.SetGeoTransform((500_000, 10, 0, 4_500_000, 0, -10))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    dataset.SetProjection(srs.ExportToWkt())
    rows, cols = np.mgrid[0:size, 0:size]
    for band in range(4):
        values = (100 + 37 * band + 11 * rows + 7 * cols + (rows * cols) % (13 + band))
        dataset.GetRasterBand(band + 1).WriteArray(values.astype(np.uint16))
    dataset.FlushCache()
    dataset = None
    return path
