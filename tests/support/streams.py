"""Helpers for tests that move large bodies: random streams and RSS sampling."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

MIB = 1024 * 1024


def random_chunks(total: int, digest: hashlib._Hash, chunk: int = MIB) -> Iterator[bytes]:
    """`total` random bytes in chunks, fed into `digest` as they are produced."""
    sent = 0
    block = os.urandom(chunk)
    while sent < total:
        # A fresh prefix per chunk keeps every chunk distinct at little cost.
        piece = (os.urandom(16) + block[16:])[: min(chunk, total - sent)]
        digest.update(piece)
        sent += len(piece)
        yield piece


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        todo += _children(current)
    return total


class PeakRss:
    """Samples tree_rss(pid) in the background; `.peak` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
