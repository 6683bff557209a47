"""The Celery worker's handle on its confined QGIS process (worker/executor.py).

The worker keeps the credentials, the network and the job's bookkeeping; the QGIS
process gets a job whose inputs are files in the job's folder and answers with
results. While it runs, the worker watches the scratch the job writes and stops the
QGIS process when it passes the job's cap (`ScratchCapExceeded`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import cloudgeo

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.5  # how often a running job's scratch is measured
START_SECONDS = 120  # QGIS starts in 1.5 s; a loaded machine may take much longer

# System files QGIS, GDAL, GRASS and OTB read while they run (programs, libraries,
# their data, fonts, time zones, CA certificates); nothing of /proc, /sys, /home,
# /root, /var or the rest of /etc (passwd, mounted secrets...).
SYSTEM_READ_ONLY = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache",
                    "/etc/localtime", "/etc/ssl", "/etc/fonts", "/etc/xdg", "/etc/mime.types",
                    "/etc/gdal", "/etc/proj")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
# CLOUDGEO_WPS_SANDBOX -> what sandbox.required_missing insists on: `required` is
# Landlock's file rules and the seccomp filter (which alone keeps sockets shut on any
# kernel); Landlock's TCP rules and scopes come on top where the kernel has them.
REQUIRED_PROTECTIONS = {"required": "filesystem", "best-effort": "none"}


class QgisProcessDied(Exception):
    """The QGIS process ended in the middle of a job (a crash, or it was killed)."""


class ScratchCapExceeded(Exception):
    def __init__(self, used: int) -> None:
        super().__init__(used)
        self.used = used


@dataclass(frozen=True)
class WorkerFolders:
    """One Celery worker's folder, removed with it: QGIS's own state and the job folders
    (the QGIS process writes there), and the input cache (it only reads that)."""

    root: Path

    @property
    def qgis(self) -> Path:
        return self.root / "qgis"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"


def python_paths() -> tuple[str, ...]:
    """What the interpreter imports from: the venv, Debian's Python, CloudGeo's code."""
    paths = {sys.prefix, sys.base_prefix, str(Path(cloudgeo.__file__).parent)}
    paths |= {p for p in sys.path if p.startswith((sys.prefix, "/usr"))}
    return tuple(sorted(p for p in paths if p))


def largest_file(scratch_cap: int) -> int:
    """RLIMIT_FSIZE of the QGIS process: the kernel's own stop for one runaway file
    (SIGXFSZ ends the QGIS process; the worker reads that as the scratch cap), since
    a writer can outrun the worker's measure (every WATCH_SECONDS)."""
    return scratch_cap


def start_message(folders: WorkerFolders, allowed_drivers: frozenset[str], scratch_cap: int,
                  required: str) -> dict[str, Any]:
    """What the QGIS process is told before its first job: where it lives and what it
    may touch (pure, so the policy is tested without a process)."""
    max_file_size = largest_file(scratch_cap)
    return {"folder": str(folders.qgis),
            "read_only": [*SYSTEM_READ_ONLY, *python_paths(), str(folders.inputs)],
            "read_write": [str(folders.qgis), str(folders.jobs), *DEVICES],
            "max_file_size": max_file_size, "required": REQUIRED_PROTECTIONS[required],
            "allowed_drivers": sorted(allowed_drivers)}


def used_bytes(folder: Path, skip: Path | None = None) -> int:
    """Disk blocks used below `folder` (sparse files count what they take), `skip` left out."""
    total = 0
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if skip is None or entry.path != str(skip):
                        stack.append(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


class QgisProcess:
    """One confined QGIS process, started on first use and again after it was stopped."""

    def __init__(self, folders: WorkerFolders, start: dict[str, Any]) -> None:
        self.folders, self.start_config = folders, start
        self.process: subprocess.Popen | None = None
        self.reader: Connection | None = None
        self.writer: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        if self.process is not None:
            return
        for folder in (self.folders.qgis, self.folders.jobs, self.folders.inputs):
            folder.mkdir(parents=True, exist_ok=True)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        argv = [sys.executable, "-m", "cloudgeo.wpsnode.worker.executor",
                str(to_child_r), str(from_child_w), str(os.getpid())]
        self.process = subprocess.Popen(argv, pass_fds=(to_child_r, from_child_w),
                                        stdin=subprocess.DEVNULL, cwd=self.folders.qgis)
        os.close(to_child_r)
        os.close(from_child_w)
        self.reader = Connection(from_child_r, writable=False)
        self.writer = Connection(to_child_w, readable=False)
        self._send(self.start_config)
        ready = self._receive(START_SECONDS)
        if not ready.get("ready"):
            self.stop()
            raise RuntimeError("the QGIS process refused to start without "
                               f"{'; '.join(ready.get('refused', []))}")
        for missing in ready.get("missing", []):
            log.warning("QGIS process %s runs without this protection: %s",
                        self.process.pid if self.process else "?", missing)

    def run(self, job: dict[str, Any], on_progress: Callable[[int], None],
            scratch_cap: int) -> dict[str, Any]:
        """Runs one job; its answer: {"results"} or {"error", ...}. Raises
        ScratchCapExceeded (the QGIS process is then stopped) or QgisProcessDied."""
        self.start()
        self._send(job)
        while True:
            message = self._receive(WATCH_SECONDS, idle_ok=True)
            if message is None:
                used = self.scratch_used()
                if used > scratch_cap:
                    self.stop()
                    raise ScratchCapExceeded(used)
            elif "progress" in message:
                on_progress(int(message["progress"]))
            elif "error" in message and (used := self.scratch_used()) >= scratch_cap:
                # A single file reached the cap (RLIMIT_FSIZE) before a measure did: the
                # algorithm failed on a write, and the cap is the reason to give.
                raise ScratchCapExceeded(used)
            else:
                return message

    def scratch_used(self) -> int:
        return used_bytes(self.folders.root, skip=self.folders.inputs)

    def empty_scratch(self, job_folder: Path) -> None:
        """Removes the job's folder and what QGIS wrote in its temporary folder (unnamed
        outputs, GRASS's locations) for the job, keeping the folder QGIS made at start."""
        shutil.rmtree(job_folder, ignore_errors=True)
        for temporary in (self.folders.qgis / "tmpdir").glob("processing_*"):
            for child in temporary.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def resident_mb(self) -> float:
        """The QGIS process's resident memory (QGIS grows with use: recycle it)."""
        if self.process is None:
            return 0.0
        try:
            pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return 0.0
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def stop(self, grace: float = 0.0) -> int | None:
        """Ends the QGIS process (after `grace` seconds for one already on its way out);
        its exit status (negative: the signal that ended it)."""
        process, self.process = self.process, None
        for connection in (self.reader, self.writer):
            if connection is not None:
                connection.close()
        self.reader = self.writer = None
        if process is not None and grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(grace)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
        return process.wait() if process is not None else None

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.writer.send_bytes(json.dumps(message).encode())
        except (OSError, AttributeError):
            self.stop()
            raise QgisProcessDied() from None

    def _receive(self, timeout: float, idle_ok: bool = False) -> dict[str, Any] | None:
        message = None
        try:
            if self.reader.poll(timeout):
                message = json.loads(self.reader.recv_bytes())
            elif idle_ok:
                return None
        except (EOFError, OSError, AttributeError, ValueError):
            pass
        if not isinstance(message, dict):  # gone, or not speaking the protocol
            if self.stop(grace=1.0) == -signal.SIGXFSZ:  # a file reached RLIMIT_FSIZE
                raise ScratchCapExceeded(self.start_config["max_file_size"])
            raise QgisProcessDied()
        return message
