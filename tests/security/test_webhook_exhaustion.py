"""/zoom/webhook under exhaustion attempts (issue 9): huge, endless or slow bodies and many connections."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox.harness import Sandbox, bot_environment
from tests.support.waiting import eventually
from tests.support.worlds import World, running_world

READ_TIMEOUT = 2.0  # WEB_READ_TIMEOUT_SECONDS
MAX_CONNECTIONS = 6  # WEB_MAX_CONNECTIONS
MAX_BODY = 1_000_000


def environment(sandbox: Sandbox, url: str) -> dict[str, str]:
    return bot_environment(
        sandbox, url, WEB_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT), WEB_MAX_CONNECTIONS=str(MAX_CONNECTIONS)
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("webhook-exhaustion"), environment) as running:
        yield running


def raw_request(world: World, head: str, body: bytes = b"") -> socket.socket:
    """A connection that sent `head` (and `body`) and is left open."""
    address = urlsplit(world.sandbox.bot_url)
    connection = socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=10)
    connection.sendall(head.encode() + b"\r\n" + body)
    return connection


def status_of(connection: socket.socket) -> int:
    answer = connection.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 "), answer
    return int(answer.split()[1])


def webhook_head(length: str) -> str:
    return (
        "POST /zoom/webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n"
    )


def test_a_declared_huge_body_is_refused_before_it_is_sent(world: World) -> None:
    with raw_request(world, webhook_head(str(10**12))) as connection:
        assert status_of(connection) == 413


def test_an_endless_chunked_body_is_cut_off_at_the_cap(world: World) -> None:
    sent = 0
    total = 200 * MAX_BODY

    def endless() -> Iterator[bytes]:
        nonlocal sent
        chunk = b"x" * 65536
        while sent < total:
            sent += len(chunk)
            yield chunk

    status = None
    try:
        with httpx.Client(trust_env=False, timeout=30) as client:
            status = client.post(world.sandbox.bot_url + "/zoom/webhook", content=endless()).status_code
    except httpx.TransportError:
        pass  # the server answered and closed while the client was still sending
    assert sent < total / 4, f"the server read {sent} bytes of an endless body"
    assert status in (None, 413)


def test_a_slow_body_is_answered_408_after_the_read_timeout(world: World) -> None:
    started = time.monotonic()
    with raw_request(world, webhook_head("100"), b'{"event":') as connection:
        assert status_of(connection) == 408
    assert time.monotonic() - started < 5 * READ_TIMEOUT


def test_connections_beyond_the_limit_get_503_and_health_returns_after(world: World) -> None:
    with ExitStack() as stack:
        for _ in range(MAX_CONNECTIONS - 1):  # with the next one's own connection: the limit
            stack.enter_context(raw_request(world, webhook_head("100"), b"{"))
        # While they are held (each ends by itself after the read timeout), one more is turned away.
        statuses = []
        deadline = time.monotonic() + READ_TIMEOUT / 2
        while time.monotonic() < deadline and 503 not in statuses:
            statuses.append(httpx.get(world.sandbox.bot_url + "/healthz", timeout=10).status_code)
        assert 503 in statuses, statuses
    eventually(
        lambda: httpx.get(world.sandbox.bot_url + "/healthz", timeout=10).status_code == 200,
        10 * READ_TIMEOUT,
        "the server recovering after the slow requests ended",
    )
