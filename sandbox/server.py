"""Serve an ASGI app with uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

PRIVATE_PORTS_FROM = 20000


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now, from below the kernel's ephemeral range.

    A port from `bind(0)` lies in the ephemeral range, where any outgoing connection may take it
    before the bot process binds it ("address already in use" under parallel tests); ports below that range
    are only ever taken by listeners.
    """
    lowest_ephemeral = _ephemeral_start()
    chooser = random.SystemRandom()
    for _ in range(200):
        port = chooser.randrange(PRIVATE_PORTS_FROM, lowest_ephemeral)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port on {host} between {PRIVATE_PORTS_FROM} and {lowest_ephemeral}")


def _ephemeral_start() -> int:
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768  # Linux's default
    return max(first, PRIVATE_PORTS_FROM + 1000)


class ServedApp:
    """An ASGI app served over real HTTP on loopback until `stop()` (or the `with` block ends).

    The server runs in its own thread with its own event loop, so synchronous tests, asyncio tests
    and the demo can all talk to it the same way.
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"served-app-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def start(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"could not start a server on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
