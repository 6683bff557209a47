"""`python -m tests.support.controlplane.netns_forward LISTEN_NS HOST:PORT CONNECT_NS HOST:PORT`:
forwards TCP connections from a listener in one network namespace to an address in
another (a namespace is a /proc/.../ns/net or /run/netns/... path; `-` is this process's).

How the tests and the real node reach each other without a route or a veth on the host:
the listening socket is made in its namespace, then the process enters the other one,
where every connection it makes is opened. A socket belongs to the namespace it was made
in, whatever the process's namespace is afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def enter(namespace: str) -> None:
    if namespace == "-":
        return
    fd = os.open(namespace, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({namespace})")
    finally:
        os.close(fd)


def address(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


def pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (sink, source):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def serve(client: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    pipe(client, upstream)


def main(argv: list[str]) -> None:
    listen_ns, listen_at, connect_ns, connect_to = argv
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    enter(listen_ns)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(address(listen_at))
    listener.listen(64)
    if libc.setns(own, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns back")
    enter(connect_ns)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"forwarding {listen_at} -> {connect_to}", flush=True)
    target = address(connect_to)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, target), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
