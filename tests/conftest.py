"""Session-wide real services: SeaweedFS S3 and the file service under gunicorn.

Everything listens on 127.0.0.1 on free ports and is stopped (process group
and all) at the end of the session; state lives under pytest's tmp folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cloudgeo.localcluster.seaweedfs import SeaweedFS
from cloudgeo.localcluster.services import ServiceProcess, file_service
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.storage.settings import S3Settings


@pytest.fixture(scope="session")
def state_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cloudgeo")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweed(state_root: Path) -> Iterator[SeaweedFS]:
    server = SeaweedFS(state_root / "seaweedfs").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def file_s3(seaweed: SeaweedFS) -> S3Settings:
    return replace(seaweed.settings, bucket="files-test")


@pytest.fixture(scope="session")
def file_store(file_s3: S3Settings) -> ObjectStore:
    return ObjectStore(file_s3)


@pytest.fixture(scope="session")
def file_api(state_root: Path, file_s3: S3Settings) -> Iterator[ServiceProcess]:
    service = file_service(state_root / "file-service", file_s3).start()
    yield service
    service.stop()
