"""Size limits and 1 GiB streaming through the file service (real gunicorn and SeaweedFS)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from cloudgeo.client import streamed_form
from cloudgeo.localcluster.services import file_service
from cloudgeo.storage.objectstore import ObjectStore
from tests.support.streams import MIB, PeakRss, random_chunks, tree_rss

LIMIT = 12 * MIB


@pytest.fixture(scope="module")
def limited(state_root, seaweed) -> Iterator[tuple[str, ObjectStore]]:
    """A file service capped at 12 MiB with 5 MiB S3 parts, so an oversized upload has
    already sent whole parts to S3 when it is refused."""
    s3 = replace(seaweed.settings, bucket="files-limit", part_size=5 * MIB)
    service = file_service(state_root / "limited", s3, max_size=str(LIMIT)).start()
    yield service.url, ObjectStore(s3)
    service.stop()


def test_oversized_streamed_upload_is_413_and_leaves_nothing(limited):
    url, store = limited
    body, content_type = streamed_form(random_chunks(20 * MIB, hashlib.sha256()), "big.tif")
    # A generator body goes out chunked, without Content-Length: only counting can stop it.
    r = requests.put(f"{url}/api/file/upload", data=body,
                     headers={"Content-Type": content_type}, timeout=60)
    assert r.status_code == 413
    assert r.json()["success"] is False
    assert "'file'" in r.json()["message"] and str(LIMIT) in r.json()["message"]
    assert store.keys() == []
    assert store.pending_multipart_uploads() == 0


def test_declared_oversize_is_refused_before_storing(limited):
    url, store = limited
    r = requests.put(f"{url}/api/file/upload",
                     files={"file": ("big.tif", b"\0" * (LIMIT + MIB))}, timeout=60)
    assert r.status_code == 413
    assert store.keys() == []


def test_upload_at_the_limit_is_accepted(limited):
    url, store = limited
    r = requests.put(f"{url}/api/file/upload", files={"file": ("ok.tif", b"\1" * LIMIT)},
                     timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["length"] == LIMIT
    store.delete(r.json()["data"]["name"])


@pytest.mark.slow
def test_one_gib_streams_through_in_bounded_memory(file_api):
    size = 1024 * MIB
    sent = hashlib.sha256()
    body, content_type = streamed_form(random_chunks(size, sent), "huge.tif")
    baseline = tree_rss(file_api.process.pid)
    with PeakRss(file_api.process.pid) as rss:
        r = requests.put(f"{file_api.url}/api/file/upload", data=body,
                         headers={"Content-Type": content_type}, timeout=600)
        assert r.status_code == 200, r.text
        info = r.json()["data"]
        assert info["length"] == size
        received = hashlib.sha256()
        with requests.get(f"{file_api.url}/api/file/retrieve/{info['name']}.tif",
                          stream=True, timeout=600) as download:
            assert download.headers["Content-Length"] == str(size)
            for chunk in download.iter_content(MIB):
                received.update(chunk)
    assert received.hexdigest() == sent.hexdigest()
    print(f"\nfile service RSS (master + workers): {baseline / MIB:.0f} MiB at rest, "
          f"peak {rss.peak / MIB:.0f} MiB while moving 1 GiB up and down")
    assert rss.peak < 200 * MIB, f"peak {rss.peak / MIB:.0f} MiB, {baseline / MIB:.0f} MiB at rest"
    requests.delete(f"{file_api.url}/api/file/delete/{info['name']}", timeout=60)
