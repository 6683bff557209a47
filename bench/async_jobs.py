"""Async throughput: 36 small async jobs (12 clients x 3, as the seed) on one node, then two.

Each client submits its three jobs (`mode: async`, native:buffer of 1,000 points) and
polls `GET /jobs/{id}` until each finishes; prints the wall time until all 36 are done
for one node and for two nodes sharing the queue (clients alternate between them),
and the latency of the status lookups (p50, p99).

    .venv/bin/python -m bench.async_jobs
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.cluster import bench_stack
from cloudgeo.client import upload_file
from cloudgeo.samples import point_shapefile_zip

CLIENTS, JOBS_PER_CLIENT = 12, 3


def run_load(node_urls: list[str], href: str) -> tuple[float, list[float]]:
    body = {"identifier": "native:buffer", "mode": "async",
            "inputs": {"INPUT": {"type": "reference", "href": href}}}
    lookups: list[float] = []

    def client(index: int) -> None:
        url = node_urls[index % len(node_urls)]
        session = requests.Session()
        ids = []
        for _ in range(JOBS_PER_CLIENT):
            response = session.post(f"{url}/jobs", json=body, timeout=60)
            response.raise_for_status()
            ids.append(response.json()["data"]["JobId"])
        for job_id in ids:
            while True:
                started = time.perf_counter()
                status = session.get(f"{url}/jobs/{job_id}", timeout=60).json()["data"]
                lookups.append(time.perf_counter() - started)
                if status["status"] in ("succeeded", "failed", "dismissed"):
                    assert status["status"] == "succeeded", status
                    break
                time.sleep(0.05)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return time.perf_counter() - started, lookups


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cloudgeo-bench-") as tmp, \
            bench_stack(Path(tmp)) as stack:
        href = upload_file(stack.files.url,
                           point_shapefile_zip(Path(tmp) / "data", count=1000))["url"]
        first = stack.add_node("bench-a")
        run_load([first.url], href)  # warm-up
        one = run_load([first.url], href)
        second = stack.add_node("bench-b")
        run_load([first.url, second.url], href)  # warm-up
        two = run_load([first.url, second.url], href)

    print(f"{CLIENTS * JOBS_PER_CLIENT} async native:buffer jobs of 1,000 points "
          f"({CLIENTS} clients x {JOBS_PER_CLIENT}), 2 QGIS workers per node")
    for label, (wall, lookups) in (("one node ", one), ("two nodes", two)):
        print(f"  {label}: all done in {wall:5.2f} s ({CLIENTS * JOBS_PER_CLIENT / wall:4.1f} "
              f"jobs/s); status lookups p50 {statistics.median(lookups) * 1000:.1f} ms, "
              f"p99 {percentile(lookups, 0.99) * 1000:.1f} ms")
    print(f"  speed-up with the second node: {one[0] / two[0]:.2f}x "
          "(both nodes share this machine's 2 cores)")


if __name__ == "__main__":
    main()
