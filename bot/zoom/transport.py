"""httpx's transport for the bot's calls to Zoom (its API and its OAuth endpoint), on kept-alive connections.

The bot's httpx client keeps what it gives: the request built from the call (URL, headers, JSON or form
body, auth), the answer's decoding, the exceptions Zoom's callers catch. Under it, httpcore's pool with
anyio's sockets and h11's state machines took about 1 ms of CPU for each Zoom call (py-spy of
bench.orders' burst: 5-7% of the bot's CPU for one meeting an order), where the bot's own HTTP/1.1
connections for the Bot API (bot/telegram/connections.py) write a request whole and read its answer by its
length or its chunks. This transport sends httpx's request over those, per origin, and hands httpx the
answer as it came (its Content-Encoding is decoded by httpx, as before).

Failures are httpx's exceptions of the same phase: PoolTimeout, ConnectTimeout or ConnectError (nothing
was sent), WriteTimeout or WriteError, ReadTimeout (the request may have been carried out),
RemoteProtocolError for an answer that broke off or is not HTTP/1. A proxy named by the environment is
httpx's own concern: its proxy transports are mounted for the URLs they serve, and this one serves the rest.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
from telegram.error import NetworkError

from bot.telegram.connections import (
    AnswerLost,
    ConnectFailed,
    ConnectTimedOut,
    KeepAlivePool,
    PoolTimedOut,
    SendFailed,
    SendTimedOut,
)

CONNECTIONS = 20  # per origin, unless told (bot/app.py gives one per Zoom job, and a few more)
_FRAMING = {b"transfer-encoding", b"content-length"}  # written by this transport from the body read


class KeptAliveTransport(httpx.AsyncBaseTransport):
    """Requests to any http(s) origin over at most `connections` kept-alive connections each."""

    def __init__(self, ssl_context: ssl.SSLContext, connections: int = CONNECTIONS) -> None:
        self._ssl = ssl_context
        self._size = connections
        self._pools: dict[tuple[bytes, bytes, int | None], KeepAlivePool] = {}

    def _pool(self, url: httpx.URL) -> KeepAlivePool:
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            if url.scheme not in ("http", "https"):
                raise httpx.UnsupportedProtocol(f"Not an http(s) URL: {url.scheme!r}")
            origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
            tls = self._ssl if url.scheme == "https" else None
            pool = self._pools[key] = KeepAlivePool(origin, self._size, tls, "")
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool(request.url)
        body = await request.aread()
        method = request.method.encode("ascii")
        lines = [b"%s %s HTTP/1.1\r\n" % (method, request.url.raw_path)]
        lines += [
            b"%s: %s\r\n" % (name, value)
            for name, value in request.headers.raw
            if name.lower() not in _FRAMING
        ]
        if body or method in (b"POST", b"PUT", b"PATCH"):
            lines.append(b"Content-Length: %d\r\n" % len(body))
        lines += [b"\r\n", body]
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        try:
            answer = await pool.exchange(
                b"".join(lines),
                timeout.get("connect"),
                timeout.get("write"),
                timeout.get("read"),
                timeout.get("pool"),
                bodiless=method == b"HEAD",
            )
        except NetworkError as exc:
            raise _httpx_error(exc, request) from exc
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode("latin-1")},
            request=request,
        )

    async def aclose(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


# The connections' failures by phase, as httpx's; any other (an answer that broke off) is a protocol error.
_PHASES: tuple[tuple[type[NetworkError], type[httpx.TransportError]], ...] = (
    (PoolTimedOut, httpx.PoolTimeout),
    (ConnectTimedOut, httpx.ConnectTimeout),
    (ConnectFailed, httpx.ConnectError),
    (SendTimedOut, httpx.WriteTimeout),
    (SendFailed, httpx.WriteError),
    (AnswerLost, httpx.ReadTimeout),
)


def _httpx_error(exc: NetworkError, request: httpx.Request) -> httpx.TransportError:
    kind = next((theirs for ours, theirs in _PHASES if isinstance(exc, ours)), httpx.RemoteProtocolError)
    return kind(exc.message, request=request)
