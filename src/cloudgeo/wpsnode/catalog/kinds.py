"""How each QGIS parameter type is exchanged over the web: pure tables and rules."""

from __future__ import annotations

# QgsProcessing.SourceType values, by the names QGIS's own docs use.
LAYER_TYPE_NAMES = {
    -2: "mapLayer", -1: "vectorAnyGeometry", 0: "vectorPoint", 1: "vectorLine",
    2: "vectorPolygon", 3: "raster", 4: "file", 5: "vector", 6: "mesh", 7: "plugin",
    8: "pointCloud", 9: "annotation",
}

LITERAL_KINDS = {
    "number": "number", "distance": "number", "scale": "number", "duration": "number",
    "boolean": "boolean",
    "string": "string", "expression": "expression", "raster_calc_expression": "expression",
    "execute_sql": "string", "relief_colors": "string", "coordinateoperation": "string",
    "databaseschema": "string", "color": "string",
    "enum": "enum", "OTBParameterChoice": "enum",
    "crs": "crs", "extent": "extent", "point": "point", "field": "field", "band": "band",
    "range": "range", "matrix": "matrix",
    "fields_mapping": "json", "aggregates": "json", "meshdatasetgroups": "json",
    "meshdatasettime": "json",
}
LAYER_KINDS = {"source": "vector", "vector": "vector", "raster": "raster", "mesh": "mesh",
               "layer": "layer", "file": "file"}
DESTINATION_TYPES = {"sink": "vectorOutput", "vectorDestination": "vectorOutput",
                     "rasterDestination": "rasterOutput", "fileDestination": "fileOutput",
                     "folderDestination": "folderOutput"}
DESTINATION_KINDS = set(DESTINATION_TYPES.values())
REFERENCE_KINDS = {"vector", "raster", "mesh", "layer", "file"}
# Types that need QGIS project objects or database connections no web caller has.
UNSUPPORTED = "unsupported"

# Vector outputs default to GeoPackage (one file, fastest to write: DESIGN.md), rasters
# to GeoTIFF; a caller may choose among these where QGIS can write them.
VECTOR_FORMATS = ["gpkg", "geojson", "shp", "fgb", "kml", "gml", "csv"]
RASTER_FORMATS = ["tif", "img", "nc"]


def input_kind(qgis_type: str, layer_types: list[int] | None) -> str:
    """What a caller sends for a parameter: a literal kind, a layer kind, or an output."""
    if qgis_type in DESTINATION_TYPES:
        return DESTINATION_TYPES[qgis_type]
    if qgis_type in LITERAL_KINDS:
        return LITERAL_KINDS[qgis_type]
    if qgis_type in LAYER_KINDS:
        return LAYER_KINDS[qgis_type]
    if qgis_type == "multilayer":
        layer = (layer_types or [-1])[0]
        return {3: "raster", 4: "file", 6: "mesh"}.get(layer, "vector")
    return UNSUPPORTED


def output_formats(kind: str, supported: list[str], default_extension: str) -> list[str]:
    """Formats offered for a destination, our default first."""
    supported = [s.lower() for s in supported]
    if kind == "vectorOutput":
        offered = [f for f in VECTOR_FORMATS if not supported or f in supported]
        return offered or [default_extension or "gpkg"]
    if kind == "rasterOutput":
        offered = [f for f in RASTER_FORMATS if not supported or f in supported]
        return offered or [default_extension or "tif"]
    if kind == "folderOutput":
        return ["zip"]
    return [default_extension.lower() or "txt"]
