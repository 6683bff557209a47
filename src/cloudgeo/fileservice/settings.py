"""File service settings, from environment variables.

| variable                    | default                | meaning                                   |
|-----------------------------|------------------------|-------------------------------------------|
| CLOUDGEO_FILE_HOST          | 127.0.0.1              | address to listen on                      |
| CLOUDGEO_FILE_PORT          | 8800                   | port (the seed's)                         |
| CLOUDGEO_FILE_WORKERS       | 2                      | gunicorn worker processes                 |
| CLOUDGEO_FILE_THREADS       | 8                      | threads per worker (concurrent transfers) |
| CLOUDGEO_FILE_METRICS_DIR   | (a folder in $TMPDIR)  | prometheus multiprocess samples           |
| CLOUDGEO_FILE_MAX_SIZE      | 1073741824 (1 GiB)     | largest accepted upload, in bytes         |
| CLOUDGEO_FILE_DRAIN_LIMIT   | 67108864 (64 MiB)      | refused body read so the client sees 413  |
| CLOUDGEO_PUBLIC_URL         | http://127.0.0.1:9000  | the gateway's URL, for direct links       |

With authentication (cloudgeo.fileservice.ownership):

CLOUDGEO_FILE_USER_HEADER (default empty: no authentication)
    the header the gateway names the user in; each upload then records its owner, and
    `find`, `delete` and `upload-force-name` over an existing name answer 404 to others
CLOUDGEO_FILE_ADMINS (default empty)
    comma-separated user ids that may act on every file
CLOUDGEO_FILE_OWNER_ONLY_RETRIEVAL (default false)
    `retrieve` too only for the file's owner (and admins); else a link is a capability
    that anyone holding it may use

Object storage: see cloudgeo.storage.settings (CLOUDGEO_S3_*).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envsettings import env_bool, env_int, env_list, env_str, environment
from cloudgeo.common.server import ServerSettings
from cloudgeo.storage.settings import S3Settings

GIB = 1024**3


@dataclass(frozen=True)
class FileServiceSettings:
    server: ServerSettings
    s3: S3Settings
    max_size: int = GIB
    drain_limit: int = 64 * 1024 * 1024
    public_url: str = "http://127.0.0.1:9000"
    user_header: str = ""
    admins: frozenset[str] = frozenset()
    owner_only_retrieval: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FileServiceSettings:
        env = environment(environ)
        return cls(
            server=ServerSettings.from_env(env, "CLOUDGEO_FILE", port=8800),
            s3=S3Settings.from_env(env),
            max_size=env_int(env, "CLOUDGEO_FILE_MAX_SIZE", GIB, minimum=1),
            drain_limit=env_int(env, "CLOUDGEO_FILE_DRAIN_LIMIT", 64 * 1024 * 1024),
            public_url=env_str(env, "CLOUDGEO_PUBLIC_URL", cls.public_url).rstrip("/"),
            user_header=env_str(env, "CLOUDGEO_FILE_USER_HEADER", ""),
            admins=frozenset(env_list(env, "CLOUDGEO_FILE_ADMINS")),
            owner_only_retrieval=env_bool(env, "CLOUDGEO_FILE_OWNER_ONLY_RETRIEVAL", False),
        )

    def retrieve_url(self, name: str) -> str:
        return f"{self.public_url}/api/file/retrieve/{name}"
