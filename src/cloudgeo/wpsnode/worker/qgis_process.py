"""The Celery worker's handle on its confined QGIS process (worker/executor.py).

The worker keeps the credentials, the network and the job's bookkeeping; the QGIS
process gets a job whose inputs are files in the job's folder and answers with
results. While it runs, the worker watches the scratch the job writes and stops the
QGIS process when it passes the job's cap (`ScratchCapExceeded`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
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


class _Executor:
    """One QGIS process: its pipes and its own folder (QGIS profile, HOME, temporary
    files), which goes with it."""

    def __init__(self, folder: Path, start: dict[str, Any]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        argv = [sys.executable, "-m", "cloudgeo.wpsnode.worker.executor",
                str(to_child_r), str(from_child_w), str(os.getpid())]
        self.process = subprocess.Popen(argv, pass_fds=(to_child_r, from_child_w),
                                        stdin=subprocess.DEVNULL, cwd=folder)
        os.close(to_child_r)
        os.close(from_child_w)
        self.reader = Connection(from_child_r, writable=False)
        self.writer = Connection(to_child_w, readable=False)
        self.spawned = time.monotonic()
        # A process that died at once cannot be told: `ready` reports it (EOF), so that
        # a failed spare is dropped rather than raised out of the job that started it.
        with contextlib.suppress(OSError):
            self.writer.send_bytes(json.dumps({**start, "folder": str(folder)}).encode())

    def ready(self, timeout: float) -> bool:
        """Whether it said it is ready within `timeout` (False: not yet). Raises
        RuntimeError when it refused to start or died on the way."""
        try:
            if not self.reader.poll(timeout):
                return False
            answer = json.loads(self.reader.recv_bytes())
        except (EOFError, OSError, ValueError):
            answer = {"refused": [f"it ended with status {self.process.wait()}"]}
        if not isinstance(answer, dict) or not answer.get("ready"):
            refused = answer.get("refused", []) if isinstance(answer, dict) else []
            raise RuntimeError("the QGIS process refused to start without "
                               f"{'; '.join(refused) or 'what it needs'}")
        for missing in answer.get("missing", []):
            log.warning("QGIS process %s runs without this protection: %s",
                        self.process.pid, missing)
        return True

    def stop(self, grace: float = 0.0) -> int:
        """Ends it (after `grace` seconds for one already on its way out) and removes its
        folder; its exit status (negative: the signal that ended it)."""
        for connection in (self.reader, self.writer):
            connection.close()
        if grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        status = self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        return status


class QgisProcess:
    """The worker's confined QGIS process, started on first use and again after it was
    stopped. QGIS grows with use, so it is renewed now and then (`renew`): a spare is
    started beside it while it still runs jobs, and takes over between two jobs once
    ready, so that no job waits for QGIS to start."""

    def __init__(self, folders: WorkerFolders, start: dict[str, Any],
                 on_start: Callable[[], None] = lambda: None) -> None:
        self.folders, self.start_config = folders, start
        self.on_start = on_start  # counts QGIS starts (the node's metrics)
        self.current: _Executor | None = None
        self.spare: _Executor | None = None
        self.jobs_done = 0  # by the current process
        self.generations = itertools.count()

    @property
    def pid(self) -> int | None:
        return self.current.process.pid if self.current else None

    @property
    def folder(self) -> Path | None:
        """The current process's own folder."""
        return self.current.folder if self.current else None

    def _spawn(self) -> _Executor:
        for folder in (self.folders.qgis, self.folders.jobs, self.folders.inputs):
            folder.mkdir(parents=True, exist_ok=True)
        self.on_start()
        return _Executor(self.folders.qgis / str(next(self.generations)), self.start_config)

    def start(self) -> None:
        if self.current is not None:
            return
        executor = self._spawn()
        try:
            if not executor.ready(START_SECONDS):
                raise RuntimeError(f"QGIS did not start within {START_SECONDS} s")
        except RuntimeError:
            executor.stop()
            raise
        self.current, self.jobs_done = executor, 0

    def renew(self) -> None:
        """Between two jobs: starts a spare if there is none, and hands over to it if
        it is ready (otherwise the current process runs the next job meanwhile)."""
        if self.current is None:
            return  # the next job starts a fresh one anyway
        if self.spare is None:
            self.spare = self._spawn()
            return
        try:
            ready = self.spare.ready(0)
            if not ready and time.monotonic() - self.spare.spawned > START_SECONDS:
                raise RuntimeError(f"QGIS did not start within {START_SECONDS} s")
        except RuntimeError as exc:
            log.error("a spare QGIS process failed (%s); another is started", exc)
            self.spare.stop()
            self.spare = None
            return
        if ready:
            old, self.current, self.spare, self.jobs_done = self.current, self.spare, None, 0
            old.stop()

    def run(self, job: dict[str, Any], on_progress: Callable[[int], None],
            scratch_cap: int, on_log: Callable[[list[str]], None] = lambda lines: None
            ) -> dict[str, Any]:
        """Runs one job; its answer: {"results"} or {"error", ...}, with the log lines
        not yet handed to `on_log`. Raises ScratchCapExceeded (the QGIS process is then
        stopped) or QgisProcessDied."""
        self.start()
        self._send(job)
        self.jobs_done += 1
        while True:
            message = self._receive(WATCH_SECONDS, idle_ok=True)
            if message is None:
                used = self.scratch_used()
                if used > scratch_cap:
                    self.stop()
                    raise ScratchCapExceeded(used)
            elif "progress" in message:
                on_progress(int(message["progress"]))
            elif "log" in message and len(message) == 1:
                on_log([str(line) for line in message["log"]])
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
        if self.current is None:
            return
        for temporary in (self.current.folder / "tmpdir").glob("processing_*"):
            for child in temporary.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def resident_mb(self) -> float:
        """The QGIS process's resident memory (QGIS grows with use: renew it)."""
        if self.current is None:
            return 0.0
        try:
            pages = int(Path(f"/proc/{self.current.process.pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return 0.0
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def stop(self, grace: float = 0.0) -> int | None:
        """Ends the QGIS process (after `grace` seconds for one already on its way out)
        and any spare; the process's exit status (negative: the signal that ended it)."""
        current, spare, self.current, self.spare = self.current, self.spare, None, None
        if spare is not None:
            spare.stop()
        return current.stop(grace) if current is not None else None

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.current.writer.send_bytes(json.dumps(message).encode())
        except (OSError, AttributeError):
            self.stop()
            raise QgisProcessDied() from None

    def _receive(self, timeout: float, idle_ok: bool = False) -> dict[str, Any] | None:
        message = None
        try:
            if self.current.reader.poll(timeout):
                message = json.loads(self.current.reader.recv_bytes())
            elif idle_ok:
                return None
        except (EOFError, OSError, AttributeError, ValueError):
            pass
        if not isinstance(message, dict):  # gone, or not speaking the protocol
            if self.stop(grace=1.0) == -signal.SIGXFSZ:  # a file reached RLIMIT_FSIZE
                raise ScratchCapExceeded(self.start_config["max_file_size"])
            raise QgisProcessDied()
        return message
