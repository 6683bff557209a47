"""A job's output links and the stored files behind them."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from cloudgeo.storage.objectstore import ObjectNotFound
from cloudgeo.wpsnode.jobs.ports import ObjectSink

# A stored output's direct link: its file's id (the object's key) and extension.
RETRIEVE_LINK = re.compile(r"/api/file/retrieve/(?P<id>[A-Za-z0-9_-]+)\.(?P<ext>[a-z0-9]+)$")


def output_file_ids(output: dict[str, Any]) -> list[str]:
    """Ids of the stored files an output block links to (pure)."""
    ids = []
    for value in output.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and (match := RETRIEVE_LINK.search(item)):
                ids.append(match["id"])
    return ids


def remove_files(store: ObjectSink, file_ids: list[str]) -> None:
    for file_id in file_ids:
        with contextlib.suppress(ObjectNotFound):
            store.delete(file_id)


def remove_outputs(store: ObjectSink, output: dict[str, Any]) -> None:
    remove_files(store, output_file_ids(output))
