"""Where a job's CPU goes: CPU seconds per job of every process group of a local
cluster (gateway, node HTTP, the node's Celery parent, its workers and their QGIS
processes, file service, Redis, SeaweedFS), read from /proc before and after a run,
side by side with py-qgis-wps (the peer of bench.load: its server and workers, and the
Redis it logs to) running the same job, and the in-process floor (`processing.run` to a
GeoPackage in this process). Runs of ours and of the peer alternate, `--rounds` times.

On 2 cores throughput is bounded by CPU per job, so this says what to cut first; wall
time here is noisy, CPU time much less so.

    .venv/bin/python -m bench.cpu_per_job [--api json|wps|ogc] [--jobs 100] [--clients 4]

Last line: `cpu: N ms per job (peer P ms, floor F ms), top: NAME X ms, NAME Y ms`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

from bench.load import concurrent, floor_runner, json_request, ogc_request, wps_request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
APIS = {"json": json_request, "wps": wps_request, "ogc": ogc_request}


def process_times(sessions: dict[int, str]) -> dict[str, float]:
    """CPU seconds (user + system) by component, for every live process whose session
    is one of the components' (each component runs in a session of its own), and the
    workers and their QGIS processes apart from their node's Celery parent."""
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
        elif b"cloudgeo.wpsnode.worker.executor" in cmdline:
            name += " qgis"  # the confined QGIS process of each worker
        totals[name] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return totals


def _is_parent(fields: list[str]) -> bool:
    """A Celery process whose parent is not itself a Celery process: the pool's parent."""
    try:
        parent = Path(f"/proc/{fields[1]}/cmdline").read_bytes()
    except OSError:
        return True
    return b"celery" not in parent


def measure(send, sessions: dict[int, str], clients: int, jobs: int
            ) -> tuple[dict[str, float], float, int]:
    """CPU ms per job by component, wall seconds, failures, for clients x jobs/clients."""
    before = process_times(sessions)
    wall, failures = concurrent([send], clients, jobs // clients)
    after = process_times(sessions)
    done = clients * (jobs // clients)
    return ({name: (after.get(name, 0) - before.get(name, 0)) / done * 1000 for name in after},
            wall, len(failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", choices=sorted(APIS), default="json")
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    from bench.load import one_node_cluster, peer_request
    from bench.peer.server import peer_server

    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="cloudgeo-cpu-") as tmp:
        root = Path(tmp)
        with one_node_cluster(root, args.points) as setup:
            state = setup.state
            send = APIS[args.api](state.gateway_url, setup.href)
            sessions = {c.pid: c.name for c in state.components}
            redis_pid = next(c.pid for c in state.components if c.name == "redis")
            with peer_server(root, state.ports.redis) as peer:
                peer_send = peer_request(peer.url, setup.local)
                peer_sessions = {peer.session: "py-qgis-wps", redis_pid: "redis"}
                for target in (send, peer_send):  # warm-up
                    concurrent([target], args.clients, 3)
                for _ in range(args.rounds):
                    per_job, _, failures = measure(send, sessions, args.clients, args.jobs)
                    ours.append(per_job)
                    failed += failures
                    per_job, _, failures = measure(peer_send, peer_sessions, args.clients,
                                                   args.jobs)
                    theirs.append(per_job)
                    failed += failures
        floor = floor_runner(root, setup.local)
        floor()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        started_cpu = usage.ru_utime + usage.ru_stime
        for _ in range(50):
            floor()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        floor_ms = (usage.ru_utime + usage.ru_stime - started_cpu) / 50 * 1000

    def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
        return {name: statistics.median(run.get(name, 0.0) for run in runs)
                for name in {name for run in runs for name in run}}

    mine, peer_cpu = median_of(ours), median_of(theirs)
    total = statistics.median(sum(run.values()) for run in ours)
    peer_total = statistics.median(sum(run.values()) for run in theirs)
    print(f"{args.api}: {args.rounds} rounds of {args.jobs} jobs by {args.clients} clients, "
          f"ours and the peer's alternating; {failed} failed")
    for label, table in (("CloudGeo", mine), ("py-qgis-wps", peer_cpu)):
        print(f"{label} (median per component, ms CPU per job):")
        for name, value in sorted(table.items(), key=lambda item: -item[1]):
            print(f"  {name:28s} {value:7.1f}")
    print(f"total per job: CloudGeo {total:.1f} ms, py-qgis-wps {peer_total:.1f} ms "
          f"({total / peer_total:.2f}x), floor {floor_ms:.1f} ms")
    top = sorted(mine.items(), key=lambda item: -item[1])[:3]
    print(f"cpu: {total:.0f} ms per job (peer {peer_total:.0f} ms, floor {floor_ms:.0f} ms), "
          "top: " + ", ".join(f"{name} {value:.0f} ms" for name, value in top))


if __name__ == "__main__":
    main()
