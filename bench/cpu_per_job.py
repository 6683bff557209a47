"""Where a job's CPU goes: CPU seconds per job of every process group of a local
cluster (gateway, node HTTP, the node's Celery parent and its QGIS workers, file
service, Redis, SeaweedFS), read from /proc before and after a run, side by side with
the in-process floor (`processing.run` to a GeoPackage in this process).

On 2 cores throughput is bounded by CPU per job, so this says what to cut first; wall
time here is noisy, CPU time much less so.

    .venv/bin/python -m bench.cpu_per_job [--api json|wps|ogc] [--jobs 200] [--clients 4]

Last line: `cpu: N ms per job (floor F ms, Rx), top: NAME X ms, NAME Y ms`.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import requests

from bench.load import concurrent, floor_runner, json_request, ogc_request, wps_request
from cloudgeo.localcluster.cluster import Cluster, ClusterPorts

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
APIS = {"json": json_request, "wps": wps_request, "ogc": ogc_request}


def process_times(sessions: dict[int, str]) -> dict[str, float]:
    """CPU seconds (user + system) by component, for every live process whose session
    is one of the components' (each component runs in a session of its own), and the
    QGIS workers apart from their node's Celery parent."""
    totals: dict[str, float] = defaultdict(float)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        session = int(fields[3])
        if session not in sessions:
            continue
        name = sessions[session]
        if b"celery" in cmdline:
            name += " celery" if int(fields[1]) == session or _is_parent(fields) else " worker"
        totals[name] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return totals


def _is_parent(fields: list[str]) -> bool:
    """A Celery process whose parent is not itself a Celery process: the pool's parent."""
    try:
        parent = Path(f"/proc/{fields[1]}/cmdline").read_bytes()
    except OSError:
        return True
    return b"celery" not in parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", choices=sorted(APIS), default="json")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    from cloudgeo.samples import point_shapefile_zip

    with tempfile.TemporaryDirectory(prefix="cloudgeo-cpu-") as tmp:
        root = Path(tmp)
        archive = point_shapefile_zip(root / "data", count=args.points)
        zipfile.ZipFile(archive).extractall(root / "local")
        cluster = Cluster(root / "cluster", report=lambda _: None)
        state = cluster.up(nodes=1, qgis_workers=2, ports=ClusterPorts.free(1))
        try:
            gateway = state.gateway_url
            with open(archive, "rb") as handle:
                r = requests.put(f"{gateway}/api/file/upload",
                                 files={"file": (archive.name, handle)}, timeout=60)
            r.raise_for_status()
            send = APIS[args.api](gateway, r.json()["data"]["url"])
            concurrent([send], args.clients, 5)  # warm-up
            sessions = {c.pid: c.name for c in state.components}
            before = process_times(sessions)
            wall, failures = concurrent([send], args.clients, args.jobs // args.clients)
            after = process_times(sessions)
        finally:
            cluster.down()
        jobs = args.clients * (args.jobs // args.clients)
        floor = floor_runner(root, str(root / "local" / "point.shp"))
        floor()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        started_cpu = usage.ru_utime + usage.ru_stime
        t0 = time.perf_counter()
        for _ in range(50):
            floor()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        floor_ms = (usage.ru_utime + usage.ru_stime - started_cpu) / 50 * 1000
        floor_wall = (time.perf_counter() - t0) / 50 * 1000

    per_job = {name: (after.get(name, 0) - before.get(name, 0)) / jobs * 1000 for name in after}
    total = sum(per_job.values())
    print(f"{args.api}: {jobs} jobs by {args.clients} clients in {wall:.1f} s "
          f"({jobs / wall:.1f} jobs/s), {len(failures)} failed")
    for name, value in sorted(per_job.items(), key=lambda item: -item[1]):
        print(f"  {name:28s} {value:7.1f} ms CPU per job")
    print(f"  {'total':28s} {total:7.1f} ms; floor {floor_ms:.1f} ms CPU "
          f"({floor_wall:.1f} ms wall)")
    top = sorted(per_job.items(), key=lambda item: -item[1])[:3]
    print(f"cpu: {total:.0f} ms per job (floor {floor_ms:.0f} ms, {total / floor_ms:.1f}x), top: "
          + ", ".join(f"{name} {value:.0f} ms" for name, value in top))


if __name__ == "__main__":
    main()
