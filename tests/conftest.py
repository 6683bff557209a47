"""Session-wide real services: SeaweedFS S3 and the file service under gunicorn.

Everything listens on 127.0.0.1 on free ports and is stopped (process group
and all) at the end of the session; state lives under pytest's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cloudgeo.client import upload_file
from cloudgeo.common.managed_processes import ManagedProcess, StartupFailed, free_port
from cloudgeo.localcluster import services
from cloudgeo.localcluster.redis_server import RedisServer
from cloudgeo.localcluster.seaweedfs import SeaweedFS
from cloudgeo.localcluster.services import ServiceProcess, file_service
from cloudgeo.samples import four_band_geotiff, point_shapefile_zip
from cloudgeo.storage.objectstore import ObjectStore
from cloudgeo.storage.settings import S3Settings
from tests.support import wps as wps_support
from tests.support.controlplane.prebuild import start_background_build
from tests.support.docker import DockerEngine, why_no_engine
from tests.support.httpserver import Routes, serve
from tests.support.images import BuiltImages, build_images

SESSION_TMPDIR = pytest.StashKey[tuple]()  # (the session's $TMPDIR, the one before it)
BACKGROUND_BUILD = pytest.StashKey[ManagedProcess | None]()


def pytest_configure(config: pytest.Config) -> None:
    """Every process the suite starts (nodes, QGIS, Celery's pools, SeaweedFS...) gets a
    temporary folder of the session's own, removed at its end: what they leave in
    $TMPDIR when they are killed (QGIS3-*, qt_temp-*, pymp-*) stayed in /tmp."""
    folder = tempfile.mkdtemp(prefix="cloudgeo-tests-")
    config.stash[SESSION_TMPDIR] = (folder, os.environ.get("TMPDIR"))
    os.environ["TMPDIR"] = folder


def pytest_collection_finish(session: pytest.Session) -> None:
    """When a selected test needs the control plane and its binaries are not built yet,
    the build starts now, beside the tests that come first (tests/support/controlplane/
    prebuild.py): on a fresh machine it is most of the suite's extra time."""
    wanted = not session.config.option.collectonly and any(
        item.get_closest_marker("control_plane") for item in session.items)
    folder = session.config.stash[SESSION_TMPDIR][0]
    session.config.stash[BACKGROUND_BUILD] = (
        start_background_build(Path(folder) / "controlplane-build.log") if wanted else None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    build = session.config.stash.get(BACKGROUND_BUILD, None)
    if build is not None:  # a run cut short leaves it unfinished; the next one resumes
        build.stop()


def pytest_unconfigure(config: pytest.Config) -> None:
    folder, before = config.stash.get(SESSION_TMPDIR, (None, None))
    if folder is None:
        return
    if before is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def state_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cloudgeo")
    wps_support.DOWNLOADS[:] = [root / "downloads"]
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def built_images(state_root: Path) -> Iterator[BuiltImages]:
    """CloudGeo's images, built once per session by a Docker engine of the session's own
    (about 4 minutes here, debootstrap included); fails with the reason where they
    cannot be built (the container tests skip before asking, the pods test does not)."""
    reason = why_no_engine()
    if reason:
        pytest.fail(f"no container engine: {reason}")
    docker = DockerEngine(state_root / "docker")
    try:
        docker.start()
        built = build_images(docker)
        print("image build seconds:", {k: round(v) for k, v in built.seconds.items()})
        yield built
    except StartupFailed as exc:  # a kernel or sandbox without what dockerd needs
        pytest.fail(f"the Docker engine did not start here: {exc}")
    finally:
        docker.stop()


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


# -- the WPS node: Redis, the QGIS catalogue, a node with its QGIS workers ----------

@pytest.fixture(scope="session")
def redis_server(state_root: Path) -> Iterator[RedisServer]:
    server = RedisServer(state_root / "redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def catalog_path(state_root: Path) -> Path:
    """Every algorithm's description, made once from QGIS and shared by all test nodes."""
    path = state_root / "catalog.json"
    subprocess.run([sys.executable, "-m", "cloudgeo.wpsnode.catalog", str(path),
                    str(state_root / "catalog-qgis")], check=True, capture_output=True)
    return path


def start_wps_node(state_root: Path, name: str, s3: S3Settings, redis_url: str,
                   file_url: str, catalog: Path, **settings: str) -> ServiceProcess:
    """A started WPS node on a free port; `settings` are further CLOUDGEO_WPS_* values."""
    return services.wps_node(state_root, name, s3, redis_url, file_url, catalog,
                             **settings).start(timeout=120)


@pytest.fixture(scope="session")
def dead_port() -> int:
    """A port nothing listens on, which the test node nonetheless allows inputs from."""
    return free_port()


@pytest.fixture(scope="session")
def foreign_host() -> Iterator[tuple[str, Routes]]:
    """An allowed host that is not our file service: (base URL, routes to fill in)."""
    routes = Routes()
    server = serve(routes)
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def wps_node(state_root, file_s3, file_api, redis_server, catalog_path, dead_port,
             foreign_host):
    allowed = f"{file_api.url},http://127.0.0.1:{dead_port},{foreign_host[0]}"
    node = start_wps_node(state_root, "node-a", file_s3, redis_server.url, file_api.url,
                          catalog_path, allowed_hosts=allowed, max_input_size=str(1024**2),
                          job_list="public")  # the OGC job-list tests read every job
    yield node
    node.stop()


@pytest.fixture(scope="session")
def samples(state_root: Path, file_api) -> dict[str, str]:
    """Sample layers uploaded to the file service: name -> direct link."""
    folder = state_root / "samples"
    files = {
        "points": point_shapefile_zip(folder, count=10, seed=1, name="point"),
        "points2": point_shapefile_zip(folder, count=10, seed=2, name="point2"),
        "bands": four_band_geotiff(folder),
    }
    return {key: upload_file(file_api.url, path)["url"] for key, path in files.items()}
