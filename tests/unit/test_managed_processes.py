"""Ports for the servers the tests and the local cluster start."""

from __future__ import annotations


def test_a_free_port_is_never_one_the_kernel_may_hand_to_a_client():
    """Below the ephemeral range, offsets included: a port chosen there could be taken
    by any outgoing connection before the server binds it."""
    from cloudgeo.common.managed_processes import ephemeral_ports_start, free_port

    start = ephemeral_ports_start()
    assert 1024 < start <= 65535
    ports = [free_port(offsets=(0, 10000)) for _ in range(200)]
    assert all(port >= 20000 and port + 10000 < start for port in ports)
    assert all(free_port() < start for _ in range(200))
