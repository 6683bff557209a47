"""Object storage settings, shared by every service that reads or writes files.

Each setting is declared once, below; the table in docs/settings.md is generated from
these declarations (`python -m cloudgeo.operator.settingsdocs`). A streamed upload holds
about (parallel uploads + 2) parts in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envsettings import as_env, read, setting

MIN_PART_SIZE = 5 * 1024 * 1024


@dataclass(frozen=True)
class S3Settings:
    endpoint: str = setting("CLOUDGEO_S3_ENDPOINT", "127.0.0.1:9100",
                            doc="host:port of the S3 API (MinIO, SeaweedFS)")
    access_key: str = setting("CLOUDGEO_S3_ACCESS_KEY", "cloudgeo", doc="access key")
    secret_key: str = setting("CLOUDGEO_S3_SECRET_KEY", "cloudgeo-secret", doc="secret key")
    bucket: str = setting("CLOUDGEO_S3_BUCKET", "cloudgeo", doc="bucket, created when missing")
    secure: bool = setting("CLOUDGEO_S3_SECURE", False, doc="https to the endpoint")
    region: str = setting("CLOUDGEO_S3_REGION", "us-east-1", doc="signing region")
    timeout: float = setting("CLOUDGEO_S3_TIMEOUT", 10.0,
                             doc="connect/read timeout in seconds")
    part_size: int = setting("CLOUDGEO_S3_PART_SIZE", 8 * 1024 * 1024, minimum=MIN_PART_SIZE,
                             doc="multipart part size (S3's minimum: 5 MiB)")
    parallel_uploads: int = setting("CLOUDGEO_S3_PARALLEL_UPLOADS", 2, minimum=1,
                                    doc="parts of one upload in flight at once")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Settings:
        return read(cls, environ)

    def as_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process."""
        return as_env(self)
