"""FakeObjectStore: an in-memory test double of storage.objectstore.ObjectStore, for the
file service's own logic in the test's process (uploads, ownership, ranges, errors).
The real adapter over SeaweedFS is tested in tests/integration/test_file_service.py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from cloudgeo.storage.objectstore import ObjectNotFound, StorageUnavailable, StoredObject

CHUNK = 4096


class FakeObjectStore:
    """Test double of ObjectStore: objects in a dict. `down` makes every call raise
    StorageUnavailable; `reads` counts the stream reads of each put (an upload must be
    streamed: read in chunks, never whole); `opened` the ranges downloads opened."""

    bucket = "fake-bucket"

    def __init__(self, down: bool = False) -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.down = down
        self.reads: list[int] = []
        self.opened: list[tuple[str, int, int]] = []
        self.deleted: list[str] = []

    def _reached(self) -> None:
        if self.down:
            raise StorageUnavailable("object storage at fake:9 is unreachable: refused")

    def ping(self) -> None:
        self._reached()

    def put_stream(self, key: str, stream: BinaryIO, content_type: str,
                   metadata: Mapping[str, str], length: int = -1) -> StoredObject:
        self._reached()
        data = bytearray()
        while chunk := stream.read(CHUNK):
            self.reads.append(len(chunk))
            data.extend(chunk)
        self.objects[key] = (bytes(data), content_type, dict(metadata))
        return self.stat(key)

    def stat(self, key: str) -> StoredObject:
        self._reached()
        if key not in self.objects:
            raise ObjectNotFound(key)
        data, content_type, metadata = self.objects[key]
        return StoredObject(key, len(data), hashlib.md5(data).hexdigest(), content_type,
                            None, metadata)

    def open_range(self, key: str, offset: int = 0, length: int = 0) -> Iterator[bytes]:
        self._reached()
        data = self.objects[key][0]
        self.opened.append((key, offset, length))
        end = offset + length if length else len(data)
        return iter([data[i:min(i + CHUNK, end)] for i in range(offset, end, CHUNK)])

    def delete(self, key: str) -> None:
        self._reached()
        self.deleted.append(key)
        self.objects.pop(key, None)
