"""The TCP connections pods really make, read from their network namespaces.

Each pod's container is a process of the host's kernel: /proc/<pid>/net/tcp(6) lists
the sockets of its pod's network namespace. Seen from the server's side a connection's
peer is the client pod's own address (a Service's ClusterIP is translated before it
arrives), which is what NetworkPolicies judge.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"


@dataclass(frozen=True)
class Connection:
    """A TCP connection accepted by `server` (a pod's name) on `port` from `client_ip`."""
    server: str
    port: int
    client_ip: str


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # The kernel prints each 32-bit word in host order (little-endian here).
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address), int(port, 16)


def accepted(pid: int, server: str) -> set[Connection]:
    """The connections to the listening ports of `pid`'s network namespace (established,
    or closed and waiting), by client address."""
    rows = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if path.exists():
            rows += [line.split() for line in path.read_text().splitlines()[1:]]
    listening = {_address(row[1])[1] for row in rows if row[3] == LISTEN}
    found = set()
    for row in rows:
        (_, local_port), (remote, _) = _address(row[1]), _address(row[2])
        if row[3] != LISTEN and local_port in listening and remote not in ("0.0.0.0", "::"):
            found.add(Connection(server, local_port, remote))
    return found


def observe(pids: dict[str, int], during: Callable[[], None],
            interval: float = 0.2) -> set[Connection]:
    """Every connection the pods (name -> a container's host PID) accept while `during`
    runs, sampled every `interval` seconds, plus the long-lived ones already open."""
    seen: set[Connection] = set()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen.update(_sample(pids.items()))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        during()
    finally:
        stop.set()
        sampler.join(10)
    seen.update(_sample(pids.items()))
    return seen


def _sample(pids: Iterable[tuple[str, int]]) -> set[Connection]:
    found: set[Connection] = set()
    for name, pid in pids:
        try:
            found |= accepted(pid, name)
        except (FileNotFoundError, ProcessLookupError):  # a pod replaced meanwhile
            continue
    return found
