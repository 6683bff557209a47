"""Requests the node makes for a caller to a host the caller named (an input's href, a
callback's subscriber URL): resolved once, every address checked, connected to the
checked address.

A second lookup could answer differently (DNS rebinding), so the connection goes to
the address that passed the check, with the host's name kept for the Host header, TLS
SNI and the certificate check. Redirects are never followed and urllib3 never retries.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import urllib3

from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, address_problem


class HrefRefused(ValueError):
    """The href's host cannot be resolved, or one of its addresses may not be contacted;
    the message names the href and why."""


class HostUnknown(HrefRefused):
    """The href's host does not resolve (now: a later lookup may)."""


def resolve_checked(href: str, policy: HrefPolicy) -> str:
    """The address to connect to, once every address of the href's host passed the
    check (private and loopback ones only for a host the allow-list names)."""
    host = urlsplit(href).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise HostUnknown(f"{href} cannot be reached: host {host!r} is unknown") from None
    private_ok = policy.is_listed(href)
    for info in infos:
        problem = address_problem(info[4][0], private_ok)
        if problem:
            raise HrefRefused(f"{href} is refused: {problem}")
    return infos[0][4][0]


def pinned_request(method: str, href: str, address: str, timeout: float,
                   body: bytes | None = None, headers: dict[str, str] | None = None,
                   preload_content: bool = False) -> urllib3.BaseHTTPResponse:
    """`method` on `href`, connected to `address` (from resolve_checked); raises
    urllib3's HTTPError when the host cannot be reached or the TLS check fails."""
    parts = urlsplit(href)
    pool_timeout = urllib3.Timeout(connect=timeout, read=timeout)
    if parts.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address, parts.port or 443, timeout=pool_timeout, retries=False,
            server_hostname=parts.hostname, assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED", ca_certs=_ca_bundle())
    else:
        pool = urllib3.HTTPConnectionPool(address, parts.port or 80, timeout=pool_timeout,
                                          retries=False)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    sent = {"Host": parts.netloc.rsplit("@", 1)[-1], **(headers or {})}
    return pool.urlopen(method, target, body=body, headers=sent, redirect=False,
                        preload_content=preload_content)


def _ca_bundle() -> str:
    """The CA bundle requests would use (REQUESTS_CA_BUNDLE, else certifi's)."""
    import certifi

    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") \
        or certifi.where()
