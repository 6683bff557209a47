"""Input layers that many jobs use, fetched and opened once per QGIS worker process.

The same href is common (a team's reference layer, a benchmark's input): fetching,
unzipping and opening it costs a job as much as a fifth of a small algorithm's run.
A cached entry is keyed by the stored object and its ETag, so a replaced object is
fetched again; and it is handed only to feature-source parameters, which QGIS reads
through a read-only QgsProcessingFeatureSource. Layer parameters an algorithm may
edit in place (native:truncatetable, gdal:assignprojection, ...) never get one.
As a second line, each hit checks that the cached files still have the size and
modification time they were fetched with; any change drops the entry, so one job
cannot hand another a layer it altered.
"""

from __future__ import annotations

import shutil
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Fingerprint: (relative path, size, mtime in ns) of every file of the entry.
Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(folder: Path) -> Fingerprint:
    files = []
    for path in folder.rglob("*"):
        if path.is_file():
            st = path.stat()
            files.append((str(path.relative_to(folder)), st.st_size, st.st_mtime_ns))
    return tuple(sorted(files))


@dataclass
class CachedInput:
    folder: Path
    layer: Any  # what the algorithm is given: an opened layer, or a path
    files: Fingerprint
    size: int


class InputCache:
    """Least recently used entries, bounded in number and in bytes on disk."""

    def __init__(self, root: Path, max_entries: int, max_bytes: int,
                 on_lookup: Callable[[str], None] = lambda result: None) -> None:
        self.root, self.max_entries, self.max_bytes = root, max_entries, max_bytes
        self.on_lookup = on_lookup  # "hit", "miss" or "altered", for the metrics
        self.entries: OrderedDict[str, CachedInput] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def folder_for(self, key: str) -> Path:
        """A fresh folder to fetch an entry into (a failed fetch's leftovers removed)."""
        folder = self.root / key
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def get(self, key: str) -> Any | None:
        entry = self.entries.get(key)
        if entry is not None and fingerprint(entry.folder) != entry.files:
            self._drop(key)  # altered since it was fetched: never handed out again
            self.on_lookup("altered")
            return None
        if entry is None:
            self.on_lookup("miss")
            return None
        self.entries.move_to_end(key)
        self.on_lookup("hit")
        return entry.layer

    def put(self, key: str, folder: Path, layer: Any) -> None:
        files = fingerprint(folder)
        size = sum(f[1] for f in files)
        if size > self.max_bytes:
            shutil.rmtree(folder, ignore_errors=True)
            return
        self.entries[key] = CachedInput(folder, layer, files, size)
        while (len(self.entries) > self.max_entries
               or sum(e.size for e in self.entries.values()) > self.max_bytes):
            self._drop(next(iter(self.entries)))

    def discard(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key)
        entry.layer = None  # the layer releases its files before they are removed
        shutil.rmtree(entry.folder, ignore_errors=True)
