"""The WPS node with real QGIS workers, real Redis, SeaweedFS and the file service."""

from __future__ import annotations

import json
import math
import re
import zipfile
from datetime import datetime, timedelta

import numpy as np
import pytest
import requests

from tests.support.wps import (
    PUBLISHED_BY_DEFAULT,
    download,
    execute,
    raster_array,
    ref,
    vector_summary,
)


def test_every_provider_is_listed(wps_node):
    body = requests.get(f"{wps_node.url}/processes", timeout=30).json()
    assert body["success"] is True and body["msg"] == "success"
    processes = body["data"]["processes"]
    assert body["data"]["count"] == len(processes) == PUBLISHED_BY_DEFAULT
    by_provider: dict[str, int] = {}
    for process in processes:
        by_provider[process["provider"]] = by_provider.get(process["provider"], 0) + 1
    assert by_provider["native"] >= 210 and by_provider["qgis"] >= 50
    assert by_provider["gdal"] >= 50 and by_provider["grass7"] >= 300
    assert by_provider["otb"] >= 100
    assert "saga" not in by_provider


def test_describe_shows_types_defaults_and_options(wps_node):
    data = requests.get(f"{wps_node.url}/processes/native:buffer", timeout=30).json()["data"]
    inputs = {i["name"]: i for i in data["inputs"]}
    assert inputs["INPUT"]["type"] == "source" and inputs["INPUT"]["dataType"] == "vector"
    assert inputs["INPUT"]["optional"] is False
    assert inputs["DISTANCE"]["default"] == 10
    assert inputs["END_CAP_STYLE"]["options"] == ["Round", "Flat", "Square"]
    assert inputs["SEGMENTS"]["integer"] is True and inputs["SEGMENTS"]["minimum"] == 1
    assert data["outputs"] == [{"name": "OUTPUT", "title": "Buffered", "type": "outputVector",
                                "dataType": "vectorOutput",
                                "formats": ["gpkg", "geojson", "shp", "fgb", "kml", "gml",
                                            "csv"]}]


def test_seed_buffer_of_a_zipped_shapefile(wps_node, samples):
    r = execute(wps_node.url, "native:buffer",
                {"INPUT": ref(samples["points"]), "DISTANCE": 100})
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["success", "msg", "data"]
    data = body["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", data["jobId"])
    assert data["status"] == "succeeded" and data["percentCompleted"] == "100"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", data["completionTime"])
    completed, expires = (datetime.strptime(data[k], "%Y-%m-%d %H:%M:%S.%f")
                          for k in ("completionTime", "expirationTime"))
    assert expires - completed == timedelta(hours=24)
    link = data["output"]["OUTPUT"]
    assert re.search(r"/api/file/retrieve/[0-9a-f]{32}\.gpkg$", link)
    count, geometry, areas = vector_summary(download(link))
    assert count == 10 and geometry in ("Polygon", "Multi Polygon")
    assert all(math.isclose(a, math.pi * 100**2, rel_tol=0.02) for a in areas)
    # The record of a sync job answers too.
    status = requests.get(f"{wps_node.url}/jobs/{data['jobId']}", timeout=10).json()["data"]
    assert status["JobId"] == data["jobId"] and status["status"] == "succeeded"
    assert status["result"]["output"] == data["output"]


def test_enum_by_option_name(wps_node, samples):
    r = execute(wps_node.url, "native:buffer",
                {"INPUT": ref(samples["points"]), "DISTANCE": 100, "END_CAP_STYLE": "square"})
    assert r.status_code == 200, r.text
    _, _, areas = vector_summary(download(r.json()["data"]["output"]["OUTPUT"]))
    assert all(math.isclose(a, 200 * 200, rel_tol=1e-6) for a in areas)


def test_seed_band_math_gives_the_ndvi(wps_node, samples, state_root):
    # Exactly the seed's request body, on a 4-band GeoTIFF.
    body = {"identifier": "otb:BandMath",
            "inputs": {"il": {"type": "reference", "href": samples["bands"]},
                       "exp": "(im1b4 - im1b3) / (im1b4 + im1b3)"}}
    r = requests.post(f"{wps_node.url}/jobs", json=body, timeout=120)
    assert r.status_code == 200, r.text
    link = r.json()["data"]["output"]["out"]
    assert link.endswith(".tif")
    ndvi = raster_array(download(link))
    source = download(samples["bands"])
    red, nir = raster_array(source, 3), raster_array(source, 4)
    expected = (nir - red) / (nir + red)
    assert ndvi.shape == expected.shape
    assert np.allclose(ndvi, expected, atol=1e-6)
    assert np.ptp(expected) > 0.01  # a real spread of values, not a constant


def test_gdal_raster_calculator(wps_node, samples):
    r = execute(wps_node.url, "gdal:rastercalculator",
                {"INPUT_A": ref(samples["bands"]), "BAND_A": 2, "FORMULA": "A*3+1",
                 "RTYPE": "Float32"})
    assert r.status_code == 200, r.text
    result = raster_array(download(r.json()["data"]["output"]["OUTPUT"]))
    assert np.allclose(result, raster_array(download(samples["bands"]), 2) * 3 + 1)


def test_grass_algorithm(wps_node, samples):
    r = execute(wps_node.url, "grass7:r.mapcalc.simple",
                {"a": ref(samples["bands"]), "expression": "A*2"})
    assert r.status_code == 200, r.text
    result = raster_array(download(r.json()["data"]["output"]["output"]))
    assert np.allclose(result, raster_array(download(samples["bands"]), 1) * 2)


def test_multi_layer_input(wps_node, samples):
    r = execute(wps_node.url, "native:mergevectorlayers",
                {"LAYERS": [ref(samples["points"]), ref(samples["points2"])]})
    assert r.status_code == 200, r.text
    count, geometry, _ = vector_summary(download(r.json()["data"]["output"]["OUTPUT"]))
    assert count == 20 and geometry == "Point"


@pytest.mark.parametrize(("fmt", "suffix"), [("geojson", ".geojson"), ("shp", ".zip")])
def test_output_format_on_request(wps_node, samples, fmt, suffix):
    r = execute(wps_node.url, "native:buffer", {"INPUT": ref(samples["points"])},
                outputs={"OUTPUT": {"format": fmt}})
    assert r.status_code == 200, r.text
    path = download(r.json()["data"]["output"]["OUTPUT"])
    assert path.suffix == suffix
    if fmt == "geojson":
        assert json.loads(path.read_text())["type"] == "FeatureCollection"
    else:
        names = zipfile.ZipFile(path).namelist()
        assert {"OUTPUT.shp", "OUTPUT.shx", "OUTPUT.dbf", "OUTPUT.prj"} <= set(names)
    assert vector_summary(path)[0] == 10


def test_literal_outputs_are_values(wps_node, samples):
    r = execute(wps_node.url, "qgis:basicstatisticsforfields",
                {"INPUT_LAYER": ref(samples["points"]), "FIELD_NAME": "id"})
    assert r.status_code == 200, r.text
    output = r.json()["data"]["output"]
    assert output["COUNT"] == 10 and output["MIN"] == 0 and output["MAX"] == 9
    assert output["MEAN"] == pytest.approx(4.5)
