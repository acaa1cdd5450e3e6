"""A round-robin reverse proxy in front of bot replicas, behaving like nginx's `upstream` defaults.

Each request goes to the next upstream in turn. An upstream that refuses the connection or fails
mid-request is marked down for `fail_timeout` seconds (nginx: `max_fails=1 fail_timeout=10s`), and the
request is answered 502 Bad Gateway: like nginx, a POST is not passed on to another upstream
(`proxy_next_upstream` leaves non-idempotent requests alone), so Telegram's own retry delivers it again.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
     "transfer-encoding", "upgrade", "content-length", "host"}
)  # fmt: skip


class RoundRobinProxy:
    """An ASGI app forwarding every request to `upstreams` in turn; `served` counts answers per upstream."""

    def __init__(self, upstreams: list[str], fail_timeout: float = 10.0, timeout: float = 60.0) -> None:
        self.upstreams = [url.rstrip("/") for url in upstreams]
        self.fail_timeout = fail_timeout
        self._timeout = timeout
        self._turn = itertools.cycle(range(len(self.upstreams)))
        self._down_until = [0.0] * len(self.upstreams)
        self._client: httpx.AsyncClient | None = None
        self.served: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    def _pick(self) -> int:
        now = time.monotonic()
        for _ in range(len(self.upstreams)):
            index = next(self._turn)
            if self._down_until[index] <= now:
                return index
        return next(self._turn)  # all down: try anyway, as nginx does

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False, follow_redirects=False)
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        request = Request(scope, receive)
        response = await self._forward(request)
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, request: Request) -> Response:
        index = self._pick()
        upstream = self.upstreams[index]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        body = await request.body()
        try:
            answer = await self._http().request(request.method, url, headers=headers, content=body)
        except (TimeoutError, httpx.TransportError):
            self._down_until[index] = time.monotonic() + self.fail_timeout
            self.failed[upstream] += 1
            return Response("502 Bad Gateway", status_code=502, media_type="text/plain")
        self.served[upstream] += 1
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        kept.pop("content-encoding", None)  # httpx already decoded the body
        return Response(answer.content, status_code=answer.status_code, headers=kept)
