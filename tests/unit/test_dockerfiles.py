"""The Dockerfiles: hadolint-clean (with the repository's .hadolint.yaml), built from
debian:bookworm-slim, a non-root numeric user, a health check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "images/wps-node/Dockerfile", ROOT / "images/file-service/Dockerfile",
               ROOT / "images/gateway/Dockerfile", ROOT / "operator/Dockerfile",
               *sorted((ROOT / "tests/containers/images").glob("*/Dockerfile"))]
PRODUCT = DOCKERFILES[:4]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_passes(dockerfile):
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run([str(hadolint), "--config", str(ROOT / ".hadolint.yaml"),
                           "--failure-threshold", "info", str(dockerfile)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\n"
                   "RUN cd /tmp\n")
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run([str(hadolint), str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "DL3009" in done.stdout and "DL3003" in done.stdout


@pytest.mark.parametrize("dockerfile", PRODUCT, ids=lambda p: p.parent.name)
def test_images_are_debian_slim_non_root_and_checked(dockerfile):
    lines = dockerfile.read_text().splitlines()
    assert all(line.split()[1] == "debian:bookworm-slim" for line in lines
               if line.startswith("FROM "))
    assert [line for line in lines if line.startswith("USER ")][-1] == "USER 10001"
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
