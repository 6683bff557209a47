"""`cloudgeo-file-service` / `python -m cloudgeo.fileservice`: serve the file API."""

from __future__ import annotations

import logging

from cloudgeo.common.server import serve
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.registry.names import FILE_SERVICE


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = FileServiceSettings.from_env()

    def app_factory():
        from cloudgeo.fileservice.app import create_app

        return create_app(settings)

    server = settings.server
    serve(app_factory, server,
          registration=(FILE_SERVICE, f"{FILE_SERVICE}-{server.host}-{server.port}"))


if __name__ == "__main__":
    main()
