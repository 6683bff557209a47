"""Formats as WPS clients name them (MIME types) and as we name them (extensions)."""

from __future__ import annotations

from cloudgeo.storage.names import content_type_for

MIME_BY_FORMAT = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "shp": "application/x-zipped-shp",
    "fgb": "application/flatgeobuf",
    "kml": "application/vnd.google-earth.kml+xml",
    "gml": "application/gml+xml",
    "csv": "text/csv",
    "tif": "image/tiff",
    "img": "application/x-erdas-hfa",
    "nc": "application/x-netcdf",
    "zip": "application/zip",
}
FORMAT_BY_MIME = {mime: fmt for fmt, mime in MIME_BY_FORMAT.items()}
FORMAT_BY_MIME.update({"application/json": "geojson", "application/vnd.geo+json": "geojson",
                       "image/geotiff": "tif", "image/tiff; subtype=geotiff": "tif",
                       "text/xml": "gml", "application/x-zipped-shapefile": "zip"})

# What a layer input accepts, by input kind; the first is what a client gets by default.
INPUT_MIMES = {
    "vector": ["application/zip", "application/geo+json", "application/geopackage+sqlite3",
               "application/gml+xml", "application/vnd.google-earth.kml+xml", "text/csv",
               "application/x-zipped-shp", "application/flatgeobuf", "application/json",
               "text/xml"],
    "raster": ["image/tiff", "application/zip", "application/x-erdas-hfa",
               "application/x-netcdf", "application/octet-stream"],
    "mesh": ["application/x-netcdf", "application/octet-stream"],
    "layer": ["application/zip", "image/tiff", "application/geo+json",
              "application/geopackage+sqlite3"],
    "file": ["application/octet-stream", "text/plain", "text/csv", "application/json"],
}


def mime_for(fmt: str) -> str:
    return MIME_BY_FORMAT.get(fmt) or content_type_for(fmt)


def format_for(mime: str | None, offered: list[str]) -> str | None:
    """The output format a MIME type asks for, if it is among those offered."""
    if not mime:
        return None
    fmt = FORMAT_BY_MIME.get(mime.lower().strip())
    if fmt is None:
        fmt = next((f for f in offered if mime_for(f) == mime), None)
    return fmt if fmt in offered else None
