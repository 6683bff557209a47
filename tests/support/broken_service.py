"""A test service whose first gunicorn worker process is broken for good, the way a
file-service worker once was when the idna codec failed to load: every request it
is given raises before Flask's own error handlers run. Later worker processes are
healthy. `python -m tests.support.broken_service PORT STATE_DIR`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask, jsonify

from cloudgeo.common.flaskkit import install_error_handlers
from cloudgeo.common.server import ServerSettings, serve

RECYCLE_AFTER = 3


def first_to_claim(flag: Path) -> bool:
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def create_app(state: Path) -> Flask:
    app = Flask(__name__)

    @app.get("/pid")
    def pid():
        return jsonify(pid=os.getpid())

    if first_to_claim(state / "broken-worker-claimed"):
        def broken(environ, start_response):
            raise LookupError("unknown encoding: idna")

        app.wsgi_app = broken
    install_error_handlers(app, lambda message, data=None: {"error": message}, RECYCLE_AFTER)
    return app


def main() -> None:
    port, state = int(sys.argv[1]), Path(sys.argv[2])
    settings = ServerSettings(host="127.0.0.1", port=port, workers=1, threads=2,
                              metrics_dir=str(state / "metrics"))
    serve(lambda: create_app(state), settings)


if __name__ == "__main__":
    main()
