"""Credentials handed to a child process outside its environment.

A QGIS worker runs caller expressions, and QGIS's `env()` reads the process
environment (and /proc/self/environ keeps what a process was started with). So the
node starts its worker pool with the credentials taken out of the environment and
written to a file only its owner can read; the pool reads that file and deletes it
before any job runs, keeping the values only in its settings objects.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Variables that grant access to the object store or the job store.
SECRET_VARIABLES = ("CLOUDGEO_S3_ACCESS_KEY", "CLOUDGEO_S3_SECRET_KEY", "CLOUDGEO_REDIS_URL")
HANDOVER_VARIABLE = "CLOUDGEO_SECRETS_FILE"


def hand_over(environ: Mapping[str, str], folder: Path) -> dict[str, str]:
    """`environ` without the credentials, plus the name of a 0600 file that holds them."""
    secrets = {name: environ[name] for name in SECRET_VARIABLES if name in environ}
    clean = {k: v for k, v in environ.items() if k not in SECRET_VARIABLES}
    folder.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix="handover-", dir=folder)
    with os.fdopen(handle, "w") as out:  # mkstemp makes it 0600
        json.dump(secrets, out)
    clean[HANDOVER_VARIABLE] = path
    return clean


def take_over(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with the handed-over credentials put back (in this mapping only,
    never in os.environ); the file is deleted. Without a hand-over, `environ` as it is."""
    merged = dict(environ)
    path = merged.pop(HANDOVER_VARIABLE, "")
    if path:
        handed = Path(path)
        merged.update(json.loads(handed.read_text()))
        handed.unlink()
        os.environ.pop(HANDOVER_VARIABLE, None)
    return merged
