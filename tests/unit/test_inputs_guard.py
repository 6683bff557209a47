"""The input-fetching guard as pure functions: no request leaves this process."""

from __future__ import annotations

import pytest

from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, address_problem, host_port, href_problem

POLICY = HrefPolicy.from_urls(["http://127.0.0.1:9000", "127.0.0.1:8800",
                               "https://files.example.org"])


def test_host_port_defaults():
    assert host_port("http://Example.org/x") == "example.org:80"
    assert host_port("https://example.org/x") == "example.org:443"
    assert host_port("http://127.0.0.1:9000/a") == "127.0.0.1:9000"


@pytest.mark.parametrize("href", [
    "http://127.0.0.1:9000/api/file/retrieve/a.zip", "http://127.0.0.1:8800/x",
    "https://files.example.org/data/a.tif",
])
def test_allowed(href):
    assert href_problem(href, POLICY) is None


@pytest.mark.parametrize(("href", "words"), [
    ("http://127.0.0.1:6379/x", "allow-list"), ("http://127.0.0.1:90000/x", "valid URL"),
    ("file:///etc/passwd", "http and https"), ("/etc/passwd", "http and https"),
    ("gopher://127.0.0.1:9000/", "http and https"), ("http:///nohost", "no host"),
    ("http://user:pw@127.0.0.1:9000/x", "credentials"),
    ("http://files.example.org/a.tif", "allow-list"),  # http, not the https listed
    ("http://169.254.169.254/latest/meta-data/", "allow-list"),
])
def test_refused(href, words):
    problem = href_problem(href, POLICY)
    assert problem is not None and words in problem


def test_wildcard_admits_any_host():
    assert href_problem("https://data.example.com/x.zip", HrefPolicy.from_urls(["*"])) is None


@pytest.mark.parametrize(("address", "words"), [
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"), ("169.254.10.1", "link-local"), ("fe80::1", "link-local"),
    ("::ffff:169.254.169.254", "metadata"), ("224.0.0.1", "unicast"), ("0.0.0.0", "unicast"),
    ("240.0.0.1", "unicast"),
])
def test_never_contacted_even_when_listed(address, words):
    problem = address_problem(address, private_allowed=True)
    assert problem is not None and words in problem


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.5", "192.168.1.1", "127.0.0.1",
                                     "::1", "fc00::1", "100.64.0.1"])
def test_private_ranges_only_for_listed_hosts(address):
    assert address_problem(address, private_allowed=True) is None
    assert "private" in address_problem(address, private_allowed=False)


def test_public_addresses_pass():
    assert address_problem("93.184.216.34", private_allowed=False) is None
    assert address_problem("2606:2800:220:1:248:1893:25c8:1946", private_allowed=False) is None
