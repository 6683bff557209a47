"""A small client for CloudGeo's HTTP APIs, used by the walkthrough, benchmarks and tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import requests

BOUNDARY = "cloudgeo-form-boundary-7f3a9c"


def _framing(filename: str, boundary: str) -> tuple[bytes, bytes]:
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    return head.encode(), f"\r\n--{boundary}--\r\n".encode()


def streamed_form(chunks: Iterable[bytes], filename: str,
                  boundary: str = BOUNDARY) -> tuple[Iterator[bytes], str]:
    """A multipart/form-data body with one `file` part, generated lazily.

    requests builds `files=` bodies in memory; this one streams (sent chunked).
    """
    head, tail = _framing(filename, boundary)

    def body() -> Iterator[bytes]:
        yield head
        yield from chunks
        yield tail

    return body(), f"multipart/form-data; boundary={boundary}"


def form_length(payload_size: int, filename: str, boundary: str = BOUNDARY) -> int:
    head, tail = _framing(filename, boundary)
    return len(head) + payload_size + len(tail)


def file_chunks(path: Path, size: int = 1024 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def upload_file(base_url: str, path: Path, timeout: float = 600) -> dict:
    """PUT /api/file/upload, streaming the file; returns the seed's `data` block."""
    body, content_type = streamed_form(file_chunks(path), path.name)
    request = requests.Request("PUT", f"{base_url}/api/file/upload", data=body,
                               headers={"Content-Type": content_type}).prepare()
    # requests sends a generator chunked; a declared length instead spares the
    # server chunked decoding and lets it refuse an oversized file up front.
    del request.headers["Transfer-Encoding"]
    request.headers["Content-Length"] = str(form_length(path.stat().st_size, path.name))
    with requests.Session() as session:
        response = session.send(request, timeout=timeout)
    response.raise_for_status()
    return response.json()["data"]


def download(url: str, folder: Path, timeout: float = 120) -> Path:
    """GET a direct link into `folder`, named as the link names it (`<id>.<ext>`)."""
    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / url.rsplit("/", 1)[-1]
    path.write_bytes(response.content)
    return path
