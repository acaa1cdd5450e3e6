"""The loopback server helper: ports handed to a child process stay free until it binds them."""

from __future__ import annotations

import socket

from sandbox.server import _ephemeral_start, free_port


def test_a_free_port_lies_below_the_ephemeral_range_and_can_be_bound() -> None:
    # Outgoing connections take ephemeral ports; one of those could steal a port before the bot binds it.
    ports = {free_port() for _ in range(50)}
    assert all(port < _ephemeral_start() for port in ports)
    for port in list(ports)[:5]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))
