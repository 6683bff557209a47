"""Fetching input files for a job: the I/O side of the inputs guard.

Links to our own file service (through the gateway or directly) are read
straight from object storage, skipping two HTTP hops; any other allowed link
is fetched over HTTP with a size cap and a timeout, never following redirects.

The host is resolved once, every address it has is checked, and the connection
goes to the checked address (inputs/pinned.py, shared with callbacks): a second
lookup could answer differently (DNS rebinding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import urllib3

from cloudgeo.storage.names import InvalidName, parse_name
from cloudgeo.storage.objectstore import (
    ObjectNotFound,
    ObjectStore,
    StorageUnavailable,
    StoredObject,
)
from cloudgeo.wpsnode.errors import InputError
from cloudgeo.wpsnode.inputs.href_guard import HrefPolicy, host_port, href_problem
from cloudgeo.wpsnode.inputs.pinned import HrefRefused, pinned_request, resolve_checked

RETRIEVE_PATH = re.compile(r"/api/file/retrieve/([^/]+)")


@dataclass(frozen=True)
class StoredInput:
    file_name: str  # <id>.<ext>, as the link names it
    object: StoredObject

    @property
    def version(self) -> str:
        """Names this content: the object and its ETag (a replaced object is another)."""
        return re.sub(r"[^A-Za-z0-9]", "_", f"{self.object.key}-{self.object.etag}")


@dataclass(frozen=True)
class Fetcher:
    policy: HrefPolicy
    own_file_hosts: frozenset[str]  # host:port of the gateway and file service
    store: ObjectStore
    max_bytes: int
    timeout: float

    def check(self, name: str, href: str) -> None:
        problem = href_problem(href, self.policy)
        if problem:
            raise InputError(name, problem)

    def fetch(self, name: str, href: str, folder: Path,
              stored: StoredInput | None = None) -> Path:
        """Downloads the href into `folder`; returns the file's path. `stored`: what
        `stored` answered for this href, if the caller asked already."""
        stored = stored or self.stored(name, href)
        folder.mkdir(parents=True, exist_ok=True)
        if stored is not None:
            return self._from_store(stored, folder)
        return self._over_http(name, href, folder)

    def stored(self, name: str, href: str) -> StoredInput | None:
        """For a link to our own file service: the object it names (checked to exist and
        to be within the size cap); None for any other allowed link."""
        self.check(name, href)
        match = RETRIEVE_PATH.fullmatch(urlsplit(href).path)
        if not match or host_port(href) not in self.own_file_hosts:
            return None
        try:
            wanted = parse_name(unquote(match.group(1)))
            obj = self.store.stat(wanted.id)
        except (InvalidName, ObjectNotFound):
            raise InputError(name, f"{href} does not exist (HTTP 404)") from None
        except StorageUnavailable as exc:
            raise InputError(name, f"{href} cannot be read: {exc}") from None
        if obj.size > self.max_bytes:
            raise InputError(name, f"{href} is larger than the {self.max_bytes}-byte limit")
        return StoredInput(str(wanted), obj)

    def _from_store(self, stored: StoredInput, folder: Path) -> Path:
        path = folder / stored.file_name
        with open(path, "wb") as out:
            for chunk in self.store.open_range(stored.object.key):
                out.write(chunk)
        return path

    def _over_http(self, name: str, href: str, folder: Path) -> Path:
        try:
            address = resolve_checked(href, self.policy)
        except HrefRefused as exc:
            raise InputError(name, str(exc)) from None
        try:
            response = pinned_request("GET", href, address, self.timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise InputError(name, f"{href} cannot be reached: {type(exc).__name__}") from None
        try:
            if 300 <= response.status < 400:
                raise InputError(name, f"{href} redirects (HTTP {response.status}); "
                                       "redirects are not followed")
            if response.status != 200:
                raise InputError(name, f"{href} answered HTTP {response.status}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > self.max_bytes:
                raise InputError(name, f"{href} is larger than the {self.max_bytes}-byte limit")
            path = folder / _file_name(href, response.headers.get("Content-Disposition"))
            size = 0
            try:
                with open(path, "wb") as out:
                    for chunk in response.stream(1024 * 1024):
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise InputError(name, f"{href} is larger than the "
                                                   f"{self.max_bytes}-byte limit")
                        out.write(chunk)
            except urllib3.exceptions.HTTPError as exc:
                raise InputError(name, f"{href} broke off: {type(exc).__name__}") from None
        finally:
            response.release_conn()
        return path


def _file_name(href: str, disposition: str | None) -> str:
    candidate = ""
    if disposition:
        found = re.search(r'filename="?([^";]+)"?', disposition)
        candidate = found.group(1) if found else ""
    if not candidate:
        candidate = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", candidate).lstrip(".")
    return safe[:100] or "input"
