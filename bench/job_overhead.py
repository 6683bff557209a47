"""What a WPS node adds to a QGIS algorithm: native:buffer on 1,000 points, one run.

Baseline: `processing.run` in this (warm) process on a local copy of the layer,
writing GeoPackage. Ours: `POST /jobs` (sync) against a node, the input given as a
file-service link and the output stored in S3 and returned as a link. The two are
interleaved round by round; the job records' timestamps split our time into
queueing, the worker's share (fetch, run, store) and the HTTP tier's.

    .venv/bin/python -m bench.job_overhead [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import redis
import requests

from bench.cluster import bench_stack
from cloudgeo.client import upload_file
from cloudgeo.samples import point_shapefile_zip
from cloudgeo.wpsnode.jobs.store import JobStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cloudgeo-bench-") as tmp, \
            bench_stack(Path(tmp)) as stack:
        root = Path(tmp)
        archive = point_shapefile_zip(root / "data", count=args.points)
        href = upload_file(stack.files.url, archive)["url"]
        node = stack.add_node("bench-node")

        from cloudgeo.wpsnode.qgis_runtime import start_qgis

        start_qgis(root / "bench-qgis")
        import processing

        zipfile.ZipFile(archive).extractall(root / "local")
        local = str(root / "local" / "point.shp")
        body = {"identifier": "native:buffer",
                "inputs": {"INPUT": {"type": "reference", "href": href}, "DISTANCE": 100}}
        jobs = JobStore(redis.Redis.from_url(stack.redis.url))
        session = requests.Session()
        baseline, ours, queued, worker = [], [], [], []
        for round_no in range(args.rounds + 3):
            out = root / f"direct-{round_no}.gpkg"
            started = time.perf_counter()
            processing.run("native:buffer", {"INPUT": local, "DISTANCE": 100,
                                             "OUTPUT": str(out)})
            direct = time.perf_counter() - started
            started = time.perf_counter()
            response = session.post(f"{node.url}/jobs", json=body, timeout=120)
            total = time.perf_counter() - started
            response.raise_for_status()
            if round_no < 3:  # warm-up: first loads, connection pools
                continue
            record = jobs.get(response.json()["data"]["jobId"])
            baseline.append(direct)
            ours.append(total)
            queued.append(record.started - record.created)
            worker.append(record.finished - record.started)

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    print(f"native:buffer, {args.points} points, median of {args.rounds} rounds")
    print(f"  processing.run, warm process, local file : {ms(baseline):7.1f} ms")
    print(f"  POST /jobs (sync) against one node       : {ms(ours):7.1f} ms   "
          f"ratio {ms(ours) / ms(baseline):.2f}")
    print(f"    of which queue wait (submit -> start)   : {ms(queued):7.1f} ms")
    print(f"    of which worker (fetch + run + store)   : {ms(worker):7.1f} ms")
    rest = ms(ours) - ms(queued) - ms(worker)
    print(f"    of which HTTP tier (parse, plan, wake)  : {rest:7.1f} ms")


if __name__ == "__main__":
    main()
