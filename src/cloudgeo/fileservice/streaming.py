"""Reads the `file` part of a multipart/form-data body as a stream.

Werkzeug's form parser spools a whole upload to a temporary file before the
view runs; this feeds the request stream through its sans-IO decoder instead,
so the part's bytes go on to object storage as they arrive and a 1 GiB upload
holds only about one S3 part in memory.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import BinaryIO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

READ_CHUNK = 1024 * 1024
# Bounds the decoder's buffer: a read's worth of data plus a part's headers.
MAX_BUFFERED = READ_CHUNK + 64 * 1024


class MalformedMultipart(ValueError):
    """The body is not multipart/form-data we can read."""


class PayloadTooLarge(Exception):
    """The file part grew past the configured maximum size."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the maximum of {limit} bytes")
        self.limit = limit


class MissingFilePart(ValueError):
    """The form has no part with the expected field name and a filename."""


class FilePartReader(io.RawIOBase):
    """A read-only stream over one part's bytes; counts and caps what passes."""

    def __init__(self, chunks: Iterator[bytes], limit: int,
                 on_bytes: Callable[[int], None] | None = None) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._limit = limit
        self._on_bytes = on_bytes
        self.size = 0
        self.finished = False

    def readable(self) -> bool:
        return True

    def _pull(self) -> bool:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self.finished = True
            return False
        self.size += len(chunk)
        if self._on_bytes:
            self._on_bytes(len(chunk))
        if self.size > self._limit:
            raise PayloadTooLarge(self._limit)
        self._buffer.extend(chunk)
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and not self.finished:
            self._pull()
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def readinto(self, b) -> int:  # io.RawIOBase contract
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class MultipartStream:
    """Walks a multipart body, handing out the first file part named `field`."""

    def __init__(self, stream: BinaryIO, boundary: str) -> None:
        if not boundary:
            raise MalformedMultipart("the multipart/form-data body has no boundary")
        self._stream = stream
        self._decoder = MultipartDecoder(boundary.encode("latin-1"),
                                         max_form_memory_size=MAX_BUFFERED)
        self._eof = False

    def _events(self):
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as exc:
                raise MalformedMultipart(f"the multipart/form-data body is malformed: {exc}") \
                    from None
            if isinstance(event, NeedData):
                if self._eof:
                    raise MalformedMultipart("the multipart/form-data body ended early")
                chunk = self._stream.read(READ_CHUNK)
                if not chunk:
                    self._eof = True
                    self._decoder.receive_data(None)
                else:
                    self._decoder.receive_data(chunk)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    def file_part(self, field: str, limit: int,
                  on_bytes: Callable[[int], None] | None = None) -> tuple[str, str | None,
                                                                          FilePartReader]:
        """(filename, content type, reader) of the part; the reader must be read to its end."""
        events = self._events()
        for event in events:
            if isinstance(event, File) and event.name == field:
                return (event.filename, event.headers.get("content-type"),
                        FilePartReader(self._part_data(events), limit, on_bytes))
            if isinstance(event, Field | File):
                for data in events:  # skip this part's data
                    if isinstance(data, Data) and not data.more_data:
                        break
        raise MissingFilePart(field)

    @staticmethod
    def _part_data(events) -> Iterator[bytes]:
        for event in events:
            if isinstance(event, Data):
                if event.data:
                    yield bytes(event.data)
                if not event.more_data:
                    return

    def drain(self, limit: int) -> None:
        """Reads and discards up to `limit` more bytes so the client can read our answer."""
        remaining = limit
        while remaining > 0 and not self._eof:
            chunk = self._stream.read(min(READ_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
