"""A process held to a fraction of one CPU by a cgroup of the test's own, as a busy
machine or a pod's CPU limit would hold it. Its children forked meanwhile stay in it.

cgroup v1 (the `cpu` hierarchy) or v2 (`cpu.max`); needs root. The process is moved
back to the cgroup it came from, with any child still in ours, and ours is removed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

CGROUPS = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def _hierarchy() -> tuple[Path, str]:
    """The cpu controller's mount and its controller name in /proc/<pid>/cgroup."""
    if (CGROUPS / "cpu" / "cpu.cfs_quota_us").exists():
        return CGROUPS / "cpu", "cpu"
    return CGROUPS, ""  # v2: one hierarchy, named "" in /proc/<pid>/cgroup


def _cgroup_of(pid: int, controller: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or controllers == controller:
            return path
    raise RuntimeError(f"no {controller or 'v2'} cgroup for {pid}")


@contextlib.contextmanager
def cpu_quota(pid: int, percent: int) -> Iterator[Path]:
    root, controller = _hierarchy()
    home = root / _cgroup_of(pid, controller).lstrip("/")
    ours = root / f"cloudgeo-test-quota-{os.getpid()}-{pid}"
    ours.mkdir()
    try:
        quota = PERIOD_US * percent // 100
        if controller:
            (ours / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (ours / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            (ours / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        (ours / "cgroup.procs").write_text(str(pid))
        yield ours
    finally:
        for member in (ours / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):  # gone meanwhile
                (home / "cgroup.procs").write_text(member)
        ours.rmdir()
