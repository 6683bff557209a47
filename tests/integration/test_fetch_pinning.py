"""The fetcher connects to the address it checked, not to whatever a second DNS lookup
answers (DNS rebinding): a host name only our resolver knows is fetched from the address
it gave, with the name kept in the Host header."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest

from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.fetch import Fetcher
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy
from tests.support.httpserver import Routes, serve

NAME = "layers.rebind.invalid"  # .invalid never resolves in real DNS


@pytest.fixture
def server():
    httpd = serve(Routes({"/a.zip": (200, {}, b"layer bytes")}))
    yield httpd, httpd.hosts
    httpd.shutdown()
    httpd.server_close()


def fetcher(port: int, file_store) -> Fetcher:
    return Fetcher(HrefPolicy.from_urls([f"http://{NAME}:{port}"]), frozenset(), file_store,
                   max_bytes=1024, timeout=5)


def test_the_checked_address_is_the_one_connected_to(server, file_store, monkeypatch,
                                                     tmp_path):
    httpd, seen = server
    port = httpd.server_address[1]
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolver(host, *args, **kwargs):
        if host == NAME:
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    path = fetcher(port, file_store).fetch("INPUT", f"http://{NAME}:{port}/a.zip", tmp_path)
    assert path.read_bytes() == b"layer bytes"
    assert lookups == [NAME]  # resolved once: the connection used the checked address
    assert seen == [f"{NAME}:{port}"]


def test_a_name_turning_private_is_refused_before_any_connection(server, file_store,
                                                                 monkeypatch, tmp_path):
    httpd, seen = server
    real = socket.getaddrinfo
    host = "public.rebind.invalid"

    def resolver(name, *args, **kwargs):
        if name == host:  # one public address, one private: refused as a whole
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        return real(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    policy = HrefPolicy.from_urls(["*"])
    guarded = Fetcher(policy, frozenset(), file_store, max_bytes=1024, timeout=5)
    with pytest.raises(InputError, match="refused"):
        guarded.fetch("INPUT", f"http://{host}:{httpd.server_address[1]}/a.zip", tmp_path)
    assert seen == []


def tls_server(folder, name: str):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for `name`."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return serve(Routes({"/a.zip": (200, {}, b"tls bytes")}), tls=context), cert


@pytest.mark.parametrize("certified, works", [("tls.rebind.invalid", True),
                                              ("other.rebind.invalid", False)])
def test_https_is_pinned_too_and_the_certificate_must_name_the_host(
        certified, works, file_store, monkeypatch, tmp_path):
    host = "tls.rebind.invalid"
    httpd, cert = tls_server(tmp_path, certified)
    try:
        real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", lambda name, *a, **k: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))] if name == host
            else real(name, *a, **k)))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        port = httpd.server_address[1]
        guarded = Fetcher(HrefPolicy.from_urls([f"https://{host}:{port}"]), frozenset(),
                          file_store, max_bytes=1024, timeout=5)
        href = f"https://{host}:{port}/a.zip"
        if works:
            assert guarded.fetch("INPUT", href, tmp_path / "in").read_bytes() == b"tls bytes"
        else:
            with pytest.raises(InputError, match="cannot be reached"):
                guarded.fetch("INPUT", href, tmp_path / "in")
    finally:
        httpd.shutdown()
        httpd.server_close()
