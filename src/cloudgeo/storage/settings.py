"""Object storage settings, shared by every service that reads or writes files.

| variable                 | default          | meaning                                  |
|--------------------------|------------------|------------------------------------------|
| CLOUDGEO_S3_ENDPOINT     | 127.0.0.1:9100   | host:port of the S3 API (MinIO, SeaweedFS)|
| CLOUDGEO_S3_ACCESS_KEY   | cloudgeo         | access key                               |
| CLOUDGEO_S3_SECRET_KEY   | cloudgeo-secret  | secret key                               |
| CLOUDGEO_S3_BUCKET       | cloudgeo         | bucket, created when missing             |
| CLOUDGEO_S3_SECURE       | false            | https to the endpoint                    |
| CLOUDGEO_S3_REGION       | us-east-1        | signing region                           |
| CLOUDGEO_S3_TIMEOUT      | 10               | connect/read timeout in seconds          |
| CLOUDGEO_S3_PART_SIZE    | 8388608 (8 MiB)  | multipart part size (S3 minimum 5 MiB)   |
| CLOUDGEO_S3_PARALLEL_UPLOADS | 2            | parts of one upload in flight at once    |

A streamed upload holds about (parallel uploads + 2) parts in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envsettings import env_bool, env_float, env_int, env_str, environment

MIN_PART_SIZE = 5 * 1024 * 1024


@dataclass(frozen=True)
class S3Settings:
    endpoint: str = "127.0.0.1:9100"
    access_key: str = "cloudgeo"
    secret_key: str = "cloudgeo-secret"
    bucket: str = "cloudgeo"
    secure: bool = False
    region: str = "us-east-1"
    timeout: float = 10.0
    part_size: int = 8 * 1024 * 1024
    parallel_uploads: int = 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Settings:
        env = environment(environ)
        d = cls()
        return cls(
            endpoint=env_str(env, "CLOUDGEO_S3_ENDPOINT", d.endpoint),
            access_key=env_str(env, "CLOUDGEO_S3_ACCESS_KEY", d.access_key),
            secret_key=env_str(env, "CLOUDGEO_S3_SECRET_KEY", d.secret_key),
            bucket=env_str(env, "CLOUDGEO_S3_BUCKET", d.bucket),
            secure=env_bool(env, "CLOUDGEO_S3_SECURE", d.secure),
            region=env_str(env, "CLOUDGEO_S3_REGION", d.region),
            timeout=env_float(env, "CLOUDGEO_S3_TIMEOUT", d.timeout),
            part_size=env_int(env, "CLOUDGEO_S3_PART_SIZE", d.part_size, minimum=MIN_PART_SIZE),
            parallel_uploads=env_int(env, "CLOUDGEO_S3_PARALLEL_UPLOADS", d.parallel_uploads,
                                     minimum=1),
        )

    def as_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process."""
        return {
            "CLOUDGEO_S3_ENDPOINT": self.endpoint,
            "CLOUDGEO_S3_ACCESS_KEY": self.access_key,
            "CLOUDGEO_S3_SECRET_KEY": self.secret_key,
            "CLOUDGEO_S3_BUCKET": self.bucket,
            "CLOUDGEO_S3_SECURE": str(self.secure).lower(),
            "CLOUDGEO_S3_REGION": self.region,
            "CLOUDGEO_S3_TIMEOUT": str(self.timeout),
            "CLOUDGEO_S3_PART_SIZE": str(self.part_size),
            "CLOUDGEO_S3_PARALLEL_UPLOADS": str(self.parallel_uploads),
        }
