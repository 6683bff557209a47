"""A thin adapter over an S3 bucket (MinIO SDK), the one place that speaks S3.

It knows nothing of HTTP or of the file service's naming; it streams bytes in
and out and keeps user metadata with each object.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import urllib3
from minio import Minio
from minio.error import S3Error

from cloudgeo.storage.settings import S3Settings

STREAM_CHUNK = 256 * 1024


class StorageUnavailable(RuntimeError):
    """The object store cannot be reached, or refuses our credentials."""


class ObjectNotFound(KeyError):
    """No object under that key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str  # without quotes
    content_type: str
    last_modified: datetime | None
    metadata: Mapping[str, str]  # user metadata, lower-case keys without x-amz-meta-


_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}


def _user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    prefix = "x-amz-meta-"
    return {k.lower()[len(prefix):]: v for k, v in headers.items() if k.lower().startswith(prefix)}


class ObjectStore:
    """One bucket on one S3 endpoint; the bucket is created on first use."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        # One part is what a streamed upload holds in memory.
        self.part_size = settings.part_size
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(settings.timeout, 3.0), read=settings.timeout),
            # A dead endpoint must turn into a 503 in seconds, not after minutes of backoff.
            retries=urllib3.Retry(total=2, backoff_factor=0.1, status_forcelist=[502, 503, 504]),
            maxsize=32,
        )
        self.client = Minio(
            settings.endpoint,
            access_key=settings.access_key,
            secret_key=settings.secret_key,
            secure=settings.secure,
            region=settings.region,
            http_client=http,
        )
        self.bucket = settings.bucket
        self._bucket_ready = False
        self._lock = threading.Lock()

    # -- plumbing ----------------------------------------------------------
    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except S3Error as exc:
            if exc.code in _NOT_FOUND_CODES:
                raise ObjectNotFound(args[1] if len(args) > 1 else "") from exc
            if exc.code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}:
                raise StorageUnavailable(
                    f"object storage at {self.settings.endpoint} refused the credentials "
                    f"({exc.code})"
                ) from exc
            raise
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(
                f"object storage at {self.settings.endpoint} is unreachable: "
                f"{type(exc).__name__}"
            ) from exc

    def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._lock:
            if self._bucket_ready:
                return
            if not self._call(self.client.bucket_exists, self.bucket):
                try:
                    self._call(self.client.make_bucket, self.bucket)
                except S3Error as exc:  # another instance created it first
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
            self._bucket_ready = True

    def ping(self) -> None:
        """Raises StorageUnavailable unless the bucket is reachable (and exists)."""
        self._bucket_ready = False
        self.ensure_bucket()

    # -- objects -----------------------------------------------------------
    def put_stream(
        self,
        key: str,
        stream: BinaryIO,
        content_type: str,
        metadata: Mapping[str, str],
        length: int = -1,
    ) -> StoredObject:
        """Stores a stream of unknown length as a multipart upload, one part in memory."""
        self.ensure_bucket()
        self._call(
            self.client.put_object,
            self.bucket,
            key,
            stream,
            length,
            content_type=content_type,
            metadata=dict(metadata),
            part_size=self.part_size if length < 0 else 0,
            num_parallel_uploads=self.settings.parallel_uploads,
        )
        return self.stat(key)

    def put_file(self, key: str, path: str, content_type: str,
                 metadata: Mapping[str, str]) -> None:
        """Stores a local file. (No stat afterwards: no caller needs it, and job outputs
        are stored on every job's path.)"""
        self.ensure_bucket()
        self._call(self.client.fput_object, self.bucket, key, path,
                   content_type=content_type, metadata=dict(metadata),
                   part_size=self.part_size,
                   num_parallel_uploads=self.settings.parallel_uploads)

    def stat(self, key: str) -> StoredObject:
        self.ensure_bucket()
        st = self._call(self.client.stat_object, self.bucket, key)
        return StoredObject(
            key=key,
            size=int(st.size or 0),
            etag=(st.etag or "").strip('"'),
            content_type=st.content_type or "application/octet-stream",
            last_modified=st.last_modified,
            metadata=_user_metadata(st.metadata or {}),
        )

    def open_range(self, key: str, offset: int = 0, length: int = 0) -> Iterator[bytes]:
        """Opens the object (or a byte range of it) now and returns its chunks lazily.

        Opening eagerly means a missing object or a dead endpoint is raised
        before a response has started, so the caller can still answer 404/503.
        """
        self.ensure_bucket()
        response = self._call(self.client.get_object, self.bucket, key, offset, length)

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.stream(STREAM_CHUNK)
            finally:
                response.close()
                response.release_conn()

        return chunks()

    def delete(self, key: str) -> None:
        self.ensure_bucket()
        self._call(self.client.remove_object, self.bucket, key)

    def keys(self, prefix: str = "") -> list[str]:
        self.ensure_bucket()
        return [o.object_name for o in self._call(
            self.client.list_objects, self.bucket, prefix=prefix, recursive=True)]

    def pending_multipart_uploads(self) -> int:
        """Unfinished multipart uploads in the bucket (left by an aborted transfer)."""
        self.ensure_bucket()
        result = self._call(self.client._list_multipart_uploads, self.bucket)
        return len(result.uploads)
