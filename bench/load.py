"""Load, side by side in one run: CloudGeo's three Execute APIs through the gateway
against py-qgis-wps 1.10.1 (the peer) and in-process `processing.run` (the floor).

Same job everywhere: native:buffer of a 1,000-point layer, distance 25, 8 segments.
CloudGeo (1 node x 2 QGIS workers) fetches the input by link from its file service and
stores the output in S3; the peer (2 workers, no recycling) reads the input as a
server-side path and leaves the output on its disk; the floor writes a GeoPackage in
this process. Per target: sequential p50/p90, then throughput at 12 clients x 3
requests and 48 x 4, counting every request that did not succeed. Sequential requests
go round the targets one at a time and each workload runs target after target in a
rotating order: this machine's speed drifts over seconds (a QGIS run here takes 67 ms
for a minute, then 120 ms), and a drift must fall on every target alike. Before all that,
a burst of 48 x 4 mixed WPS/JSON/OGC requests is sent the moment `cloudgeo up`
returns: a node in rotation must be able to execute.

    .venv/bin/python -m bench.load [--rounds 5] [--sequential 20]

The last line: `load: wps p50 X× peer, throughput Y× peer, json p50 Z× floor, lost N`
(throughput at 12 x 3: the median over rounds of each round's ratio of ours to the peer's,
the two measured moments apart; lost over every API, workload and round, the burst included).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.peer.server import peer_server
from cloudgeo.localcluster.cluster import Cluster, ClusterPorts, ClusterState
from cloudgeo.samples import point_shapefile_zip

DISTANCE, SEGMENTS = 25, 8
WORKLOADS = ((12, 3), (48, 4))
# A request: (session) -> None when it succeeded, else what went wrong.
Request = Callable[[requests.Session], str | None]


def peer_request(ows: str, path: str) -> Request:
    params = {"SERVICE": "WPS", "VERSION": "1.0.0", "REQUEST": "Execute",
              "IDENTIFIER": "bufferpeer:buffer",
              "DATAINPUTS": f"INPUT={path};DISTANCE={DISTANCE};SEGMENTS={SEGMENTS};"
                            "OUTPUT=buffered.gpkg"}
    return lambda session: _wps_outcome(session.get(ows, params=params, timeout=300))


def wps_request(gateway: str, href: str) -> Request:
    params = {"service": "WPS", "version": "1.0.0", "request": "Execute",
              "identifier": "native:buffer",
              "DataInputs": f"INPUT=@xlink:href={href};DISTANCE={DISTANCE};SEGMENTS={SEGMENTS}",
              "ResponseDocument": "OUTPUT=@asReference=true"}
    return lambda session: _wps_outcome(
        session.get(f"{gateway}/api/wps/wps", params=params, timeout=300))


def json_request(gateway: str, href: str) -> Request:
    body = {"identifier": "native:buffer",
            "inputs": {"INPUT": {"type": "reference", "href": href},
                       "DISTANCE": DISTANCE, "SEGMENTS": SEGMENTS}}

    def send(session: requests.Session) -> str | None:
        r = session.post(f"{gateway}/api/wps/jobs", json=body, timeout=300)
        if r.status_code == 200 and r.json().get("data", {}).get("status") == "succeeded":
            return None
        return f"HTTP {r.status_code} {r.text[:160]}"
    return send


def ogc_request(gateway: str, href: str) -> Request:
    body = {"inputs": {"INPUT": {"href": href}, "DISTANCE": DISTANCE, "SEGMENTS": SEGMENTS}}

    def send(session: requests.Session) -> str | None:
        r = session.post(f"{gateway}/api/wps/ogcapi/processes/native:buffer/execution",
                         json=body, timeout=300)
        if r.status_code == 200 and "href" in r.json().get("OUTPUT", {}):
            return None
        return f"HTTP {r.status_code} {r.text[:160]}"
    return send


def _wps_outcome(r: requests.Response) -> str | None:
    if r.status_code == 200 and b"ProcessSucceeded" in r.content:
        return None
    return f"HTTP {r.status_code} {r.text[:160]}"


def attempt(send: Request, session: requests.Session) -> str | None:
    try:
        return send(session)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"


def sequential(send: Request | Callable[[], str | None], count: int, session=None
               ) -> tuple[list[float], list[str]]:
    times, failures = [], []
    for _ in range(count):
        started = time.perf_counter()
        problem = attempt(send, session) if session is not None else send()
        times.append(time.perf_counter() - started)
        if problem:
            failures.append(problem)
    return times, failures


def concurrent(sends: list[Request], clients: int, each: int) -> tuple[float, list[str]]:
    """Wall time for clients x each requests (client i sends sends[i % len]), failures."""
    def client(index: int) -> list[str]:
        session = requests.Session()
        send = sends[index % len(sends)]
        return [p for p in (attempt(send, session) for _ in range(each)) if p]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        failures = [p for found in pool.map(client, range(clients)) for p in found]
    return time.perf_counter() - started, failures


def floor_runner(root: Path, path: str) -> Callable[[], None]:
    from cloudgeo.wpsnode.qgis_runtime import start_qgis

    start_qgis(root / "floor-qgis")
    import processing

    counter = iter(range(10**9))

    def run() -> None:
        processing.run("native:buffer", {"INPUT": path, "DISTANCE": DISTANCE,
                                         "SEGMENTS": SEGMENTS,
                                         "OUTPUT": str(root / f"floor-{next(counter)}.gpkg")})
    return run


@dataclass(frozen=True)
class LoadSetup:
    state: ClusterState  # a running 1-node cluster (2 QGIS workers)
    href: str  # the input layer, uploaded through the gateway
    local: str  # the same layer as a server-side path (for the peer and the floor)


@contextlib.contextmanager
def one_node_cluster(root: Path, points: int) -> Iterator[LoadSetup]:
    """The benchmarks' cluster, with the job's input uploaded; stopped on the way out."""
    archive = point_shapefile_zip(root / "data", count=points)
    zipfile.ZipFile(archive).extractall(root / "local")
    cluster = Cluster(root / "cluster", report=lambda _: None)
    state = cluster.up(nodes=1, qgis_workers=2, ports=ClusterPorts.free(1))
    try:
        with open(archive, "rb") as handle:
            r = requests.put(f"{state.gateway_url}/api/file/upload",
                             files={"file": (archive.name, handle)}, timeout=60)
        r.raise_for_status()
        yield LoadSetup(state, r.json()["data"]["url"], str(root / "local" / "point.shp"))
    finally:
        cluster.down()


def ms(values: list[float], share: float = 0.5) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=20)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cloudgeo-load-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        with one_node_cluster(root, args.points) as setup:
            gateway, href = setup.state.gateway_url, setup.href
            ours = {"wps": wps_request(gateway, href), "json": json_request(gateway, href),
                    "ogc": ogc_request(gateway, href)}
            burst_time, burst_failures = concurrent(list(ours.values()), 48, 4)
            print(f"burst 48x4 mixed right after `cloudgeo up` ({time.perf_counter() - started:.0f}"
                  f" s after the start): {192 - len(burst_failures)} of 192 succeeded "
                  f"in {burst_time:.1f} s")
            for problem in burst_failures[:3]:
                print(f"  lost: {problem}")
            with peer_server(root, setup.state.ports.redis) as peer:
                targets = {"peer": peer_request(peer.url, setup.local), **ours}
                report(targets, floor_runner(root, setup.local), args, len(burst_failures))


def rotated(names: list[str], shift: int) -> list[str]:
    """`names` starting at index `shift` (modulo its length), the rest after them."""
    shift %= len(names)
    return names[shift:] + names[:shift]


def report(targets: dict[str, Request], floor: Callable[[], None], args, lost_before: int
           ) -> None:
    seq: dict[str, list[float]] = defaultdict(list)
    rates: dict[tuple[str, int, int], list[float]] = defaultdict(list)
    lost: dict[str, list[str]] = defaultdict(list)
    sessions = {name: requests.Session() for name in targets}
    for name, send in targets.items():  # warm-up: first loads, connection pools
        sequential(send, 3, sessions[name])
    floor()
    runners: dict[str, Callable[[], str | None]] = {"floor": lambda: floor() or None, **{
        name: (lambda send=send, session=sessions[name]: attempt(send, session))
        for name, send in targets.items()}}
    names = list(runners)
    # Interleaved request by request (and workload by workload, in a rotating order):
    # this machine's speed drifts over seconds, and a drift must hit every target alike.
    for round_ in range(args.rounds):
        for cycle in range(args.sequential):
            for name in rotated(names, round_ * args.sequential + cycle):
                times, failures = sequential(runners[name], 1)
                seq[name] += times
                lost[name] += failures
        for clients, each in WORKLOADS:
            for name in rotated(list(targets), round_):
                wall, failures = concurrent([targets[name]], clients, each)
                rates[(name, clients, each)].append(clients * each / wall)
                lost[name] += failures

    print(f"native:buffer, 1,000 points, distance {DISTANCE}, {SEGMENTS} segments; "
          f"{args.rounds} rounds of {args.sequential} sequential requests per target")
    header = f"{'':8s} {'p50 ms':>8s} {'p90 ms':>8s}" + "".join(
        f" {f'{c}x{e} req/s':>14s}" for c, e in WORKLOADS) + f" {'lost':>6s}"
    print(header)
    for name in ("floor", *targets):
        line = f"{name:8s} {ms(seq[name]):8.1f} {ms(seq[name], 0.9):8.1f}"
        for clients, each in WORKLOADS:
            values = rates.get((name, clients, each))
            line += f" {statistics.median(values):14.1f}" if values else f" {'-':>14s}"
        print(line + (f" {len(lost[name]):6d}" if name != "floor" else f" {'-':>6s}"))
    for name, problems in lost.items():
        for problem in problems[:3]:
            print(f"  {name} lost: {problem}")

    def round_ratios(name: str, clients: int, each: int) -> list[float]:
        # Paired round by round: a round's drift falls on ours and the peer's alike.
        return [ours / peer for ours, peer in zip(
            rates[(name, clients, each)], rates[("peer", clients, each)], strict=True)]

    def to_peer(name: str, clients: int, each: int) -> float:
        return statistics.median(round_ratios(name, clients, each))

    for api in ("wps", "json", "ogc"):
        print(f"{api}: p50 {ms(seq[api]) / ms(seq['peer']):.2f}x peer, "
              f"{ms(seq[api]) / ms(seq['floor']):.2f}x floor; throughput " + ", ".join(
                  f"{c}x{e} {to_peer(api, c, e):.2f}x peer" for c, e in WORKLOADS))
    print("wps 12x3 throughput to the peer's, round by round: "
          + ", ".join(f"{r:.2f}" for r in round_ratios("wps", 12, 3)))
    total_lost = lost_before + sum(len(lost[api]) for api in ("wps", "json", "ogc"))
    print(f"load: wps p50 {ms(seq['wps']) / ms(seq['peer']):.2f}× peer, "
          f"throughput {to_peer('wps', 12, 3):.2f}× peer, "
          f"json p50 {ms(seq['json']) / ms(seq['floor']):.2f}× floor, lost {total_lost}")


if __name__ == "__main__":
    main()
