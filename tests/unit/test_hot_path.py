"""Work the bot must not repeat for every update or request (found with a profiler, see bench/README.md)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

import httpx
import pytest


class ImportSpy(MetaPathFinder):
    """Records every module name the import system is asked to find (it finds none itself)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.names.append(fullname)
        return None


@pytest.fixture
def import_spy() -> Iterator[ImportSpy]:
    spy = ImportSpy()
    sys.meta_path.insert(0, spy)
    try:
        yield spy
    finally:
        sys.meta_path.remove(spy)


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readline() not in (b"\r\n", b""):
        continue
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
    await writer.drain()
    writer.close()


async def test_an_http_request_searches_for_no_module(import_spy: ImportSpy) -> None:
    """httpx (the Telegram and Zoom calls) must find the event loop without a failed import per request."""
    server = await asyncio.start_server(answer_ok, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient() as client:
        first = await client.get(f"http://127.0.0.1:{port}/")  # lazy imports of a first request are fine
        import_spy.names.clear()
        again = [await client.get(f"http://127.0.0.1:{port}/") for _ in range(3)]
    assert first.text == "ok" and all(response.text == "ok" for response in again)
    assert import_spy.names == []
