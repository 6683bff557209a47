"""CloudGeo: every QGIS processing algorithm as a distributed OGC web service."""

__version__ = "0.1.0"
