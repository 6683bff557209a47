"""Starting, watching and stopping local processes: a node's own (gunicorn, Celery), a
local cluster's, a test run's."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests


class StartupFailed(RuntimeError):
    """A process exited, or did not become ready in time; the message quotes its log."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen there now (as servers do, with SO_REUSEADDR, so
    connections lingering in TIME_WAIT do not count as a listener)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ephemeral_ports_start() -> int:
    """The first port the kernel hands to outgoing connections (Linux's
    ip_local_port_range): a server port chosen at or above it can be taken by any client
    between our check and the server's bind (seen: SeaweedFS refused its S3 port)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(host: str = "127.0.0.1", low: int = 20000, high: int | None = None,
              taken: set[int] | None = None, offsets: Sequence[int] = (0,)) -> int:
    """A port that is free, as is port+offset for every offset, all of them in
    [low, high); `high` defaults to where the kernel's ephemeral ports start."""
    taken = taken if taken is not None else set()
    high = (high if high is not None else ephemeral_ports_start()) - max(offsets)
    for _ in range(500):
        port = random.randrange(low, high)
        wanted = [port + off for off in offsets]
        if any(p in taken for p in wanted):
            continue
        if all(port_is_free(p, host) for p in wanted):
            taken.update(wanted)
            return port
    raise StartupFailed(f"no free port found in {low}-{high} on {host}")


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               process: ManagedProcess | None = None, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.exited():
            raise StartupFailed(f"{what}: exited with {process.returncode()}\n{process.tail()}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(interval)
    raise StartupFailed(f"{what}: not ready after {timeout:.0f} s\n"
                        f"{process.tail() if process else ''}")


def health_is(url: str, status: int = 200, timeout: float = 2.0) -> bool:
    return requests.get(url, timeout=timeout).status_code == status


def live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that have not exited (zombies, which only wait for
    their parent to reap them, do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def wait_for_group_exit(pgid: int, timeout: float = 10.0) -> None:
    """SIGKILL to what is left of a process group, then wait until none of it runs."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while live_group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


class ManagedProcess:
    """A child in its own session (so its whole group can be signalled), logging to a file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path | None,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 new_session: bool = True) -> None:
        self.name = name
        # A child that shares our session dies with our process group (a node's
        # Celery pool with the node); one in its own session is stopped on its own.
        self.new_session = new_session
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.popen: subprocess.Popen | None = None

    def start(self) -> ManagedProcess:
        if self.log_path is None:  # share our stdout and stderr
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, env=self.env,
                                          cwd=self.cwd, start_new_session=self.new_session)
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, cwd=self.cwd, start_new_session=self.new_session,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def exited(self) -> bool:
        return self.popen is not None and self.popen.poll() is not None

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def signal_group(self, sig: int) -> None:
        if self.popen is None or self.exited():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the process (which stops its own children), SIGKILL to the group
        after `timeout`; reaps the child."""
        if self.popen is None:
            return
        if not self.exited():
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.popen.wait(5)
        # Grandchildren left in the group (workers of a killed master) go too, and
        # we wait until they are gone so a caller can rely on nothing being left.
        if self.new_session:
            wait_for_group_exit(self.popen.pid)

    def kill(self) -> None:
        """kill -9 of the whole group, as a crash would."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(5)
