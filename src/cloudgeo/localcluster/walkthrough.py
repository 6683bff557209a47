"""The walkthrough against a running cluster, every step through the gateway."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from cloudgeo.client import download, upload_file
from cloudgeo.samples import four_band_geotiff, point_shapefile_zip


def _show(title: str, payload: dict) -> None:
    print(f"\n== {title}")
    print(json.dumps(payload, indent=2, ensure_ascii=False)[:1500])


def _succeeded(response: requests.Response) -> None:
    """Stops the walkthrough with what the service answered, when it refused a step."""
    if not response.ok:
        raise SystemExit(f"{response.request.method} {response.url}: {response.status_code} "
                         f"{response.text[:2000]}")


def run(gateway: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    points = point_shapefile_zip(folder, count=10)
    bands = four_band_geotiff(folder)

    print(f"CloudGeo walkthrough through the gateway {gateway}")
    uploaded = upload_file(gateway, points)
    _show("1. PUT /api/file/upload point.zip (a zipped point shapefile)", uploaded)
    link = f"{gateway}/api/file/retrieve/{uploaded['name']}.{uploaded['format']}"
    print(f"direct link: {link}")

    body = {"identifier": "native:buffer",
            "inputs": {"INPUT": {"type": "reference", "href": link}, "DISTANCE": 100}}
    started = time.monotonic()
    response = requests.post(f"{gateway}/api/wps/jobs", json=body, timeout=300)
    _succeeded(response)
    _show(f"2. POST /api/wps/jobs native:buffer, sync ({time.monotonic() - started:.2f} s, "
          f"served by {response.headers.get('X-CloudGeo-Node')})", response.json())
    buffered = download(response.json()["data"]["output"]["OUTPUT"], folder)
    from osgeo import ogr

    source = ogr.Open(str(buffered))  # the layer lives only as long as its source
    layer = source.GetLayer(0)
    print(f"downloaded {buffered.name}: {layer.GetFeatureCount()} buffered features, "
          f"{ogr.GeometryTypeToName(layer.GetGeomType())}")

    raster = upload_file(gateway, bands)
    raster_link = f"{gateway}/api/file/retrieve/{raster['name']}.{raster['format']}"
    _show("3. PUT /api/file/upload bands.tif (a 4-band GeoTIFF)", raster)
    body = {"identifier": "otb:BandMath", "mode": "async",
            "inputs": {"il": {"type": "reference", "href": raster_link},
                       "exp": "(im1b4 - im1b3) / (im1b4 + im1b3)"}}
    response = requests.post(f"{gateway}/api/wps/jobs", json=body, timeout=60)
    _succeeded(response)
    _show("4. POST /api/wps/jobs otb:BandMath, async", response.json())
    job_id = response.json()["data"]["JobId"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        polled = requests.get(f"{gateway}/api/wps/job/{job_id}", timeout=30)
        data = polled.json()["data"]
        print(f"   GET /api/wps/job/{job_id}: {data['status']} {data['percentCompleted']}% "
              f"(answered by {polled.headers.get('X-CloudGeo-Node')})")
        if data["status"] in ("succeeded", "failed", "dismissed"):
            break
        time.sleep(0.5)
    _show("5. the async job's result", polled.json())
    if data["status"] != "succeeded":
        raise SystemExit(f"otb:BandMath ended {data['status']}: {data['message']}")
    ndvi_path = download(data["result"]["output"]["out"], folder)
    from osgeo import gdal

    dataset = gdal.Open(str(ndvi_path))
    stats = dataset.GetRasterBand(1).ComputeRasterMinMax(False)
    print(f"downloaded {ndvi_path.name}: NDVI from {stats[0]:.4f} to {stats[1]:.4f}")
    print("\nwalkthrough complete")

