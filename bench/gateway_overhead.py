"""What the gateway (Traefik) adds: the same requests direct to a node and through it.

Brings up a one-node cluster on free 127.0.0.1 ports (so the gateway has exactly the
node we also call directly), then interleaves, request by request:
  GET /processes/native:buffer, and a small sync native:buffer job (10 points),
and prints p50/p99 for each path and their ratio; then the seed's load (12 clients x 3
sync buffers of 1,000 points) through the gateway, as requests per second; then uploads
the same file
(default 128 MiB) through the gateway and straight to the file service.

    .venv/bin/python -m bench.gateway_overhead [--requests 200] [--mib 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from cloudgeo.client import upload_file
from cloudgeo.common.managed_processes import free_port
from cloudgeo.localcluster.cluster import Cluster, ClusterPorts
from cloudgeo.samples import point_shapefile_zip

MIB = 1024 * 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(session: requests.Session, method: str, url: str, **kwargs) -> float:
    started = time.perf_counter()
    response = session.request(method, url, timeout=120, **kwargs)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--mib", type=int, default=128)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cloudgeo-bench-") as tmp:
        root = Path(tmp)
        taken: set[int] = set()
        ports = ClusterPorts(*(free_port(taken=taken) for _ in range(6)))
        cluster = Cluster(root / "cluster", report=lambda _: None)
        state = cluster.up(nodes=1, ports=ports, qgis_workers=2)
        try:
            gateway = state.gateway_url
            node = f"http://127.0.0.1:{ports.first_node}"
            files = f"http://127.0.0.1:{ports.file_service}"
            link = upload_file(gateway, point_shapefile_zip(root / "data"))["url"]
            job = {"identifier": "native:buffer",
                   "inputs": {"INPUT": {"type": "reference", "href": link}}}
            cases = {
                "GET /processes/native:buffer": ("GET", "/processes/native:buffer", {}),
                "POST /jobs (sync buffer)": ("POST", "/jobs", {"json": job}),
            }
            timings = {(case, path): [] for case in cases for path in ("node", "gateway")}
            session = requests.Session()
            for index in range(args.requests + 10):
                for case, (method, path, kwargs) in cases.items():
                    pair = [("node", f"{node}{path}"), ("gateway", f"{gateway}/api/wps{path}")]
                    for where, url in pair if index % 2 == 0 else reversed(pair):
                        elapsed = timed(session, method, url, **kwargs)
                        if index >= 10:  # warm-up
                            timings[(case, where)].append(elapsed)

            # The seed's load, 12 clients x 3 sync requests, buffering 1,000 points,
            # through the gateway onto the one node and its 2 QGIS workers.
            big = upload_file(gateway, point_shapefile_zip(root / "big", count=1000))["url"]
            big_job = {"identifier": "native:buffer",
                       "inputs": {"INPUT": {"type": "reference", "href": big}}}
            session.post(f"{gateway}/api/wps/jobs", json=big_job, timeout=120)  # warm

            def client(_: int) -> list[float]:
                own, took = requests.Session(), []
                for _ in range(3):
                    took.append(timed(own, "POST", f"{gateway}/api/wps/jobs", json=big_job))
                return took

            started = time.perf_counter()
            with ThreadPoolExecutor(12) as pool:
                load = [t for batch in pool.map(client, range(12)) for t in batch]
            load_wall = time.perf_counter() - started

            payload = root / "payload.bin"
            with open(payload, "wb") as handle:
                for _ in range(args.mib):
                    handle.write(os.urandom(MIB))
            upload = {"gateway": [], "file service": []}
            for round_no in range(2):
                order = [("gateway", gateway), ("file service", files)]
                for where, base in order if round_no == 0 else reversed(order):
                    started = time.perf_counter()
                    info = upload_file(base, payload)
                    upload[where].append(time.perf_counter() - started)
                    requests.delete(f"{files}/api/file/delete/{info['name']}", timeout=60)
        finally:
            cluster.down()

    print(f"gateway overhead, {args.requests} requests per path, interleaved, one node")
    for case in cases:
        direct, through = timings[(case, "node")], timings[(case, "gateway")]
        print(f"  {case:30s} direct p50 {statistics.median(direct) * 1000:6.1f} ms "
              f"p99 {percentile(direct, 0.99) * 1000:6.1f} ms | gateway p50 "
              f"{statistics.median(through) * 1000:6.1f} ms p99 "
              f"{percentile(through, 0.99) * 1000:6.1f} ms | ratio p50 "
              f"{statistics.median(through) / statistics.median(direct):.2f}")
    print(f"  seed load, 12 x 3 sync buffers of 1,000 points through the gateway, one node "
          f"with 2 QGIS workers: {len(load) / load_wall:.1f} req/s, median "
          f"{statistics.median(load) * 1000:.0f} ms, p99 {percentile(load, 0.99) * 1000:.0f} ms")
    rates = {where: args.mib / min(times) for where, times in upload.items()}
    print(f"  upload {args.mib} MiB: gateway {rates['gateway']:.1f} MB/s, file service direct "
          f"{rates['file service']:.1f} MB/s, ratio {rates['gateway'] / rates['file service']:.2f}")


if __name__ == "__main__":
    main()
