"""A QGIS processing plugin for the benchmark peer py-qgis-wps (bench/load.py).

py-qgis-wps publishes only algorithms of provider plugins, so this one wraps
native:buffer: the input is a path on the server, as py-qgis-wps users give it,
and the output a GeoPackage left in its work folder and served by reference."""


def classFactory(iface):
    from .plugin import BufferPeerPlugin

    return BufferPeerPlugin()
