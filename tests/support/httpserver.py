"""A small HTTP server on 127.0.0.1 for tests that need a foreign (but allowed) host."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Routes(dict):
    """path -> (status, headers, body)"""


def serve(routes: Routes, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    """Serves `routes` (over TLS with `tls`); `server.hosts` lists the Host headers seen."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hosts.append(self.headers["Host"])
            status, headers, body = routes.get(self.path, (404, {}, b"not here"))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.hosts = hosts
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
