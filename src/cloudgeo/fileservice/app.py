"""The file service's HTTP app (the seed's paths and envelope), over an ObjectStore: the
wiring; its routes are routes.py's, what they do files_api.py's."""

from __future__ import annotations

from flask import Flask

from cloudgeo.common.flaskkit import install_error_handlers, install_request_metrics
from cloudgeo.common.unavailable import add_gateway_answers
from cloudgeo.fileservice import metrics
from cloudgeo.fileservice.files_api import Files, failure
from cloudgeo.fileservice.routes import KEY, routes
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.storage.objectstore import ObjectStore


def create_app(settings: FileServiceSettings | None = None,
               store: ObjectStore | None = None) -> Flask:
    settings = settings or FileServiceSettings.from_env()
    store = store or ObjectStore(settings.s3)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions[KEY] = Files(settings, store)
    install_error_handlers(app, failure, settings.server.recycle_after_errors)
    install_request_metrics(app, metrics.REQUESTS, metrics.LATENCY)
    app.register_blueprint(routes)  # uploads, find, delete, retrieve, /health
    add_gateway_answers(app)
    return app
