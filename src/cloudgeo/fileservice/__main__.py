"""`cloudgeo-file-service` / `python -m cloudgeo.fileservice`: serve the file API."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from cloudgeo.common.server import serve
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.registry.names import FILE_SERVICE


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = FileServiceSettings.from_env()

    def app_factory():
        from cloudgeo.fileservice.app import create_app

        return create_app(settings)

    serve(app_factory, settings.server,
          registration=(FILE_SERVICE, instance_id(settings.server.url)))


def instance_id(advertised_url: str) -> str:
    """One registry entry per instance, named by where the gateway reaches it: the
    address it binds (0.0.0.0 in every pod) would make all replicas one entry, each
    replacing the others' and the last to stop removing it for all."""
    address = urlsplit(advertised_url)
    return f"{FILE_SERVICE}-{address.hostname}-{address.port or 80}"


if __name__ == "__main__":
    main()
