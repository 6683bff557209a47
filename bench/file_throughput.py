"""Upload and download throughput: through the file service vs. straight to S3, one run.

Starts its own SeaweedFS and file service on free 127.0.0.1 ports, moves the same
file (default 256 MiB) both ways through each path, and prints MB/s and ratios.

    .venv/bin/python -m bench.file_throughput [--mib 256] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests

from cloudgeo.client import upload_file
from cloudgeo.localcluster.seaweedfs import SeaweedFS
from cloudgeo.localcluster.services import file_service
from cloudgeo.storage.objectstore import ObjectStore

MIB = 1024 * 1024


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def drain(url: str) -> None:
    with requests.get(url, stream=True, timeout=600) as response:
        response.raise_for_status()
        for _ in response.iter_content(MIB):
            pass


def drain_s3(store: ObjectStore, key: str) -> None:
    for _ in store.open_range(key):
        pass


def measure(rounds: int, source: Path, service_url: str,
            store: ObjectStore) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {
        k: [] for k in ("service up", "s3 up", "service down", "s3 down")}
    for round_no in range(rounds):
        key, info = f"direct-{round_no}", {}

        def service_up(info=info) -> None:
            info.update(upload_file(service_url, source))

        def service_down(info=info) -> None:
            drain(f"{service_url}/api/file/retrieve/{info['name']}.tif")

        pairs = [
            [("service up", service_up),
             ("s3 up", lambda key=key: store.put_file(key, str(source), "image/tiff", {}))],
            [("service down", service_down),
             ("s3 down", lambda key=key: drain_s3(store, key))],
        ]
        for pair in pairs:
            # Alternate the order so neither path always runs on a warmer cache.
            for label, action in pair if round_no % 2 == 0 else reversed(pair):
                results[label].append(timed(action))
        store.delete(key)
        store.delete(info["name"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2, help="best of N per path")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cloudgeo-bench-") as tmp:
        root = Path(tmp)
        source = root / "payload.tif"
        with open(source, "wb") as handle:
            for _ in range(args.mib):
                handle.write(os.urandom(MIB))
        size = source.stat().st_size
        seaweed = SeaweedFS(root / "seaweedfs").start()
        service = file_service(root / "file-service", seaweed.settings).start()
        store = ObjectStore(seaweed.settings)
        try:
            results = measure(args.rounds, source, service.url, store)
        finally:
            service.stop()
            seaweed.stop()

    def rate(label: str) -> float:
        return size / MIB / min(results[label])

    print(f"file throughput, {args.mib} MiB, best of {args.rounds} "
          f"(median seconds in brackets), one SeaweedFS, 127.0.0.1")
    for direction, name in (("up", "upload"), ("down", "download")):
        ours, base = rate(f"service {direction}"), rate(f"s3 {direction}")
        print(f"  {name:8s}  file service {ours:7.1f} MB/s "
              f"[{statistics.median(results[f'service {direction}']):.2f} s]   "
              f"S3 SDK direct {base:7.1f} MB/s "
              f"[{statistics.median(results[f's3 {direction}']):.2f} s]   "
              f"ratio {ours / base:.2f}")


if __name__ == "__main__":
    main()
