"""File service settings, from environment variables.

Each setting is declared once, below; the table in docs/settings.md is generated from
these declarations (`python -m cloudgeo.operator.settingsdocs`). With authentication
(cloudgeo.fileservice.ownership) each upload records its owner.

Object storage: see cloudgeo.storage.settings (CLOUDGEO_S3_*).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envsettings import ServerDefaults, no_trailing_slash, read, setting
from cloudgeo.common.server import ServerSettings
from cloudgeo.storage.settings import S3Settings

GIB = 1024**3

SERVER = ServerDefaults("CLOUDGEO_FILE", port=8800, threads=8,
                        doc="Threads are concurrent transfers.")


@dataclass(frozen=True)
class FileServiceSettings:
    server: ServerSettings
    s3: S3Settings
    max_size: int = setting(
        "CLOUDGEO_FILE_MAX_SIZE", GIB, minimum=1, doc="largest accepted upload, in bytes")
    drain_limit: int = setting(
        "CLOUDGEO_FILE_DRAIN_LIMIT", 64 * 1024 * 1024,
        doc="bytes of a refused body still read, so that the client sees the 413")
    public_url: str = setting(
        "CLOUDGEO_PUBLIC_URL", "http://127.0.0.1:9000", convert=no_trailing_slash,
        doc="the gateway's URL, for direct links")
    user_header: str = setting(
        "CLOUDGEO_FILE_USER_HEADER", "", default_doc="empty: no authentication",
        doc="the header the gateway names the user in; each upload then records its owner, "
            "and `find`, `delete` and `upload-force-name` over an existing name answer 404 "
            "to others")
    admins: frozenset[str] = setting(
        "CLOUDGEO_FILE_ADMINS", frozenset(),
        doc="comma-separated user ids that may act on every file")
    owner_only_retrieval: bool = setting(
        "CLOUDGEO_FILE_OWNER_ONLY_RETRIEVAL", False,
        doc="with authentication: `retrieve` too only for the file's owner (and admins); "
            "else a link is a capability that anyone holding it may use")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FileServiceSettings:
        return read(cls, environ, server=SERVER.read(environ), s3=S3Settings.from_env(environ))

    def retrieve_url(self, name: str) -> str:
        return f"{self.public_url}/api/file/retrieve/{name}"
