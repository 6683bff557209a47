"""Which hrefs a node may fetch: pure checks on URLs and resolved addresses.

A node fetches only http(s) URLs whose host:port is on its allow-list (by
default the gateway and the file service) and never from link-local or cloud
metadata addresses, whatever the allow-list says. A `*` entry admits any host
that resolves only to public addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),   # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),     # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),   # Alibaba Cloud
}


@dataclass(frozen=True)
class HrefPolicy:
    allowed: frozenset[str]  # "host:port", lower-case; "*" for any public host

    @classmethod
    def from_urls(cls, entries: Iterable[str]) -> HrefPolicy:
        allowed = set()
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            if entry == "*":
                allowed.add("*")
                continue
            allowed.add(host_port(entry if "//" in entry else f"http://{entry}"))
        return cls(frozenset(allowed))

    def is_listed(self, href: str) -> bool:
        return host_port(href) in self.allowed


def host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def href_problem(href: str, policy: HrefPolicy, action: str = "fetched") -> str | None:
    """Why this href may not be fetched (or called back: `action`), or None."""
    try:
        parts = urlsplit(href)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{href!r} is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return f"only http and https links are {action}, not {parts.scheme or 'a bare path'!r}"
    if not parts.hostname:
        return f"{href!r} has no host"
    if parts.username or parts.password:
        return f"links with user credentials are not {action}"
    if not policy.is_listed(href) and "*" not in policy.allowed:
        return (f"host '{host_port(href)}' is not on this node's allow-list "
                f"({', '.join(sorted(policy.allowed)) or 'empty'})")
    return None


def address_problem(address: str, private_allowed: bool) -> str | None:
    """Why a resolved address may not be contacted, or None.

    Link-local, metadata, multicast, unspecified and reserved addresses are
    always refused; loopback and private ranges only for hosts the allow-list
    names explicitly (the gateway and file service live there).
    """
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast or ip.is_unspecified or (ip.is_reserved and not ip.is_loopback):
        return f"{ip} is not a unicast host address"
    if not private_allowed and (ip.is_private or ip.is_loopback or not ip.is_global):
        return f"{ip} is a private address and the host is not on the allow-list"
    return None
