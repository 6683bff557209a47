import io

import pytest

from cloudgeo.fileservice.streaming import (
    MalformedMultipart,
    MissingFilePart,
    MultipartStream,
    PayloadTooLarge,
)

BOUNDARY = "XyZ123boundary"


def form(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


class TrickleStream(io.RawIOBase):
    """Hands out at most 7 bytes a read, so every boundary straddles reads."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(7, size if size >= 0 else 7))


def test_reads_the_file_part_after_other_fields():
    payload = bytes(range(256)) * 100 + b"\r\n--not-the-boundary\r\n"
    body = form(("comment", None, b"hello"), ("file", "point.zip", payload))
    stream = MultipartStream(TrickleStream(body), BOUNDARY)
    seen = []
    filename, ctype, reader = stream.file_part("file", 10**6, seen.append)
    assert filename == "point.zip"
    assert ctype == "application/octet-stream"
    assert reader.read() == payload
    assert reader.size == len(payload) == sum(seen)


def test_reads_in_bounded_slices():
    payload = b"a" * 50_000
    reader = MultipartStream(io.BytesIO(form(("file", "a.bin", payload))), BOUNDARY) \
        .file_part("file", 10**6)[2]
    slices = []
    while chunk := reader.read(4096):
        assert len(chunk) <= 4096
        slices.append(chunk)
    assert b"".join(slices) == payload


def test_missing_file_field():
    body = form(("other", "a.bin", b"x"), ("file", None, b"not a file"))
    with pytest.raises(MissingFilePart):
        MultipartStream(io.BytesIO(body), BOUNDARY).file_part("file", 100)


def test_limit_is_enforced_while_reading():
    reader = MultipartStream(io.BytesIO(form(("file", "a.bin", b"x" * 5000))), BOUNDARY) \
        .file_part("file", 4000)[2]
    with pytest.raises(PayloadTooLarge, match="4000"):
        reader.read()


def test_truncated_body_is_malformed():
    body = form(("file", "a.bin", b"x" * 5000))[:-200]
    reader = MultipartStream(io.BytesIO(body), BOUNDARY).file_part("file", 10**6)[2]
    with pytest.raises(MalformedMultipart):
        reader.read()


def test_no_boundary():
    with pytest.raises(MalformedMultipart):
        MultipartStream(io.BytesIO(b""), "")
