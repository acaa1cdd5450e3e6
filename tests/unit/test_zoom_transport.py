"""The bot's httpx transport for Zoom (bot/zoom/transport.py) against a tiny HTTP/1.1 server served for real:
the request as httpx built it, the answer as httpx would have given it, and httpx's exceptions by phase."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from bot.zoom.transport import KeptAliveTransport
from tests.support.waiting import eventually_async


class Server:
    """Answers by path; keeps each request (method, target, headers, body) and counts connections."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.connections = 0
        self.release = asyncio.Event()
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
                method, target, _ = request_line.split(" ")
                headers = {
                    name.lower(): value.strip() for name, _, value in (h.partition(":") for h in lines)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((method, target, headers, body))
                if not await self.answer(method, target.split("?")[0], writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, path: str, writer: asyncio.StreamWriter) -> bool:
        if path == "/json":
            data = json.dumps({"id": 85746065, "join_url": "https://zoom.us/j/85746065"}).encode()
            head = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(
                data
            )
            writer.write(
                head + b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n" + (b"" if method == "HEAD" else data)
            )
        elif path == "/gzip":
            data = gzip.compress(b'{"meetings": []}')
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (data[:5], data[5:]):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            writer.write(b"0\r\n\r\n")
        elif path == "/updated":
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif path == "/hang":
            await self.release.wait()
            return False
        elif path == "/broken":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"id": ')
            return False
        else:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return True


@asynccontextmanager
async def serving() -> AsyncIterator[Server]:
    server = Server()
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    async with listening:
        try:
            yield server
        finally:
            server.release.set()


def client(connections: int = 4, **timeouts: float) -> httpx.AsyncClient:
    transport = KeptAliveTransport(ssl.create_default_context(), connections)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5, **timeouts), trust_env=False)


async def test_requests_go_as_httpx_built_them_and_answers_come_back_as_httpx_gives_them() -> None:
    async with serving() as server, client() as http:
        headers = {"Authorization": "Bearer token-1"}
        created = await http.post(f"{server.url}/json", json={"topic": "Zoë"}, headers=headers)
        listed = await http.get(f"{server.url}/gzip", params={"type": "upcoming", "page_size": "300"})
        updated = await http.patch(f"{server.url}/updated", json={"duration": 45}, headers=headers)
        empty_post = await http.post(f"{server.url}/updated")
        missing = await http.get(f"{server.url}/nowhere")
        peeked = await http.head(f"{server.url}/json")
        again = await http.get(f"{server.url}/json")
    assert created.status_code == 201 and created.json()["id"] == 85746065
    assert created.reason_phrase == "Created" and created.http_version == "HTTP/1.1"
    assert created.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert listed.json() == {"meetings": []}  # chunked, then gzip: decoded by httpx as before
    assert updated.status_code == 204 and updated.content == b""
    assert empty_post.status_code == 204 and missing.status_code == 404
    assert peeked.status_code == 201 and peeked.content == b""  # a HEAD's answer has no body to read
    assert again.json()["id"] == 85746065
    assert server.connections == 1  # every request on one kept-alive connection
    (method, target, sent, body), *_ = server.requests
    assert (method, target, json.loads(body)) == ("POST", "/json", {"topic": "Zoë"})
    assert sent["authorization"] == "Bearer token-1" and sent["content-type"] == "application/json"
    assert sent["content-length"] == str(len(body)) and sent["host"] == server.url.removeprefix("http://")
    assert server.requests[1][:2] == ("GET", "/gzip?type=upcoming&page_size=300")
    assert "content-length" not in server.requests[1][2]  # a GET without a body says none
    assert server.requests[2][0] == "PATCH" and json.loads(server.requests[2][3]) == {"duration": 45}
    assert server.requests[3][2]["content-length"] == "0"


async def test_failures_are_httpxs_exceptions_of_their_phase() -> None:
    async with serving() as server:
        refused = server.url.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens on loopback
        async with client(connections=1, read=0.2, pool=0.2) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"{refused}/json")
            with pytest.raises(httpx.ReadTimeout):  # it went out: it may have been carried out
                await http.get(f"{server.url}/hang")
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get(f"{server.url}/broken")
            holding = asyncio.create_task(http.get(f"{server.url}/hang", timeout=httpx.Timeout(5)))
            await eventually_async(lambda: len(server.requests) == 3, 5, "the only connection taken")
            with pytest.raises(httpx.PoolTimeout):  # not sent
                await http.get(f"{server.url}/json")
            server.release.set()
            with pytest.raises(httpx.RemoteProtocolError):  # the server closed it without an answer
                await holding
            assert (await http.get(f"{server.url}/json")).status_code == 201  # and the pool goes on
