"""A local cluster (`cloudgeo up`) for tests: free 127.0.0.1 ports, the session's catalogue."""

from __future__ import annotations

import shutil
from pathlib import Path

import requests

from cloudgeo.localcluster.cluster import Cluster, ClusterAccess, ClusterPorts, ClusterState


def start_cluster(state_root: Path, catalog_path: Path, name: str, nodes: int = 1,
                  qgis_workers: int = 2, access: ClusterAccess | None = None
                  ) -> tuple[Cluster, ClusterState]:
    """Starts a cluster under state_root/name; the caller stops it with `down()`."""
    folder = state_root / name
    folder.mkdir()
    shutil.copy(catalog_path, folder / "catalog.json")  # spares describing QGIS again
    local = Cluster(folder, report=lambda _: None)
    return local, local.up(nodes=nodes, ports=ClusterPorts.free(nodes),
                           qgis_workers=qgis_workers, access=access)


def upload(gateway: str, path: Path, **kwargs) -> str:
    """The direct link of a file uploaded through the gateway (`kwargs`: auth, headers)."""
    with open(path, "rb") as handle:
        r = requests.put(f"{gateway}/api/file/upload", files={"file": (path.name, handle)},
                         timeout=60, **kwargs)
    r.raise_for_status()
    return r.json()["data"]["url"]
