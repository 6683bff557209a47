"""A local cluster (`cloudgeo up`) for tests: free 127.0.0.1 ports, the session's catalogue."""

from __future__ import annotations

import shutil
from pathlib import Path

import requests

from cloudgeo.localcluster.cluster import Cluster, ClusterAccess, ClusterPorts, ClusterState
from cloudgeo.localcluster.processes import free_port


def start_cluster(state_root: Path, catalog_path: Path, name: str, nodes: int = 1,
                  qgis_workers: int = 2, access: ClusterAccess | None = None
                  ) -> tuple[Cluster, ClusterState]:
    """Starts a cluster under state_root/name; the caller stops it with `down()`."""
    folder = state_root / name
    folder.mkdir()
    shutil.copy(catalog_path, folder / "catalog.json")  # spares describing QGIS again
    taken: set[int] = set()
    ports = ClusterPorts(
        gateway=free_port(taken=taken), gateway_metrics=free_port(taken=taken),
        file_service=free_port(taken=taken),
        first_node=free_port(taken=taken, offsets=tuple(range(nodes))),
        redis=free_port(taken=taken), s3=free_port(taken=taken))
    local = Cluster(folder, report=lambda _: None)
    return local, local.up(nodes=nodes, ports=ports, qgis_workers=qgis_workers, access=access)


def upload(gateway: str, path: Path, **kwargs) -> str:
    """The direct link of a file uploaded through the gateway (`kwargs`: auth, headers)."""
    with open(path, "rb") as handle:
        r = requests.put(f"{gateway}/api/file/upload", files={"file": (path.name, handle)},
                         timeout=60, **kwargs)
    r.raise_for_status()
    return r.json()["data"]["url"]
