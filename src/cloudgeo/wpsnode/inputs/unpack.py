"""Unpacking fetched archives safely and finding the layers inside: no QGIS, no network."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from cloudgeo.wpsnode.errors import InputError

VECTOR_EXTENSIONS = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml", ".gml", ".csv",
                     ".tab", ".mif", ".sqlite", ".gpx")
RASTER_EXTENSIONS = (".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".jp2", ".png", ".jpg",
                     ".sdat", ".dem", ".hgt")
MESH_EXTENSIONS = (".2dm", ".nc", ".grb", ".grib2")


def safe_extract(archive: Path, target: Path, name: str, max_bytes: int, max_files: int) -> None:
    """Extracts a zip, refusing traversal, links and archives over the caps."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > max_files:
                raise InputError(name, f"the zip holds {len(members)} entries; the limit is "
                                       f"{max_files}")
            total = 0
            for member in members:
                path = PurePosixPath(member.filename.replace("\\", "/"))
                if path.is_absolute() or ".." in path.parts or member.filename.startswith("/"):
                    raise InputError(name, f"the zip entry {member.filename!r} points outside "
                                           "the archive")
                if stat.S_ISLNK(member.external_attr >> 16):
                    raise InputError(name, f"the zip entry {member.filename!r} is a link")
                total += member.file_size
                if total > max_bytes:
                    raise InputError(name, f"the zip unpacks to more than {max_bytes} bytes")
            target.mkdir(parents=True, exist_ok=True)
            written = 0
            for member in members:
                destination = target.joinpath(*PurePosixPath(
                    member.filename.replace("\\", "/")).parts)
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                # Declared sizes can lie: count what is really written.
                with bundle.open(member) as source, open(destination, "wb") as out:
                    while chunk := source.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise InputError(name, "the zip unpacks to more than "
                                                   f"{max_bytes} bytes")
                        out.write(chunk)
    except zipfile.BadZipFile:
        raise InputError(name, "the file is not a valid zip archive") from None


def find_layers(folder: Path, kind: str) -> list[Path]:
    """The layer files in an unpacked folder, best candidates first, for an input kind."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(("__MACOSX", ".")) for part in
                               p.relative_to(folder).parts))
    by_kind = {"vector": VECTOR_EXTENSIONS, "raster": RASTER_EXTENSIONS,
               "mesh": MESH_EXTENSIONS, "layer": VECTOR_EXTENSIONS + RASTER_EXTENSIONS}
    if kind == "file":
        return files
    extensions = by_kind.get(kind, VECTOR_EXTENSIONS + RASTER_EXTENSIONS)
    ranked = []
    for rank, extension in enumerate(extensions):
        ranked += [(rank, p) for p in files if p.suffix.lower() == extension]
    return [p for _, p in sorted(ranked, key=lambda item: (item[0], str(item[1])))]
