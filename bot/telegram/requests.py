"""The Bot API transport, counted: every request python-telegram-bot makes passes through here.

Bot API calls (a small form POST each) go over `KeepAlivePool`'s connections, and the rest (uploads, a
proxy from the environment) over PTB's httpx transport, as before. What a call's URL gives (its pool, its
path, its method as a metrics label) and the metrics' children are found once, not on every call.

A call made inside `unparsed` gives its Bot method True in place of its result (PTB is handed an answer
of True to parse instead of Telegram's), and the result is kept as Telegram sent it: PTB turns the message
a send or an edit returns into a `Message`, about 200 us of CPU for a card with its buttons (half the cost
of the call), wasted where nothing reads it or only its id.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import urllib.request
from collections.abc import Iterator
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client import Counter
from telegram import Message
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

from bot.metrics import Metrics, outcome_of
from bot.telegram.connections import AnswerLost, KeepAlivePool
from storage import json_codec

METHOD = re.compile(r"[A-Za-z]{1,64}")
# Enough side by side for Telegram's limits at any round trip (30 writes a second overall, answers at once);
# beyond them a request waits for a free connection rather than opening one more.
CONNECTIONS = 32


class OutcomeUnknown(NetworkError):
    """Telegram got the request but its answer was lost (a read timeout, or its gateway's 502 or 504): the
    request may have been carried out, so sending it again may give the chat a second copy."""


LOST_ANSWER = (HTTPStatus.BAD_GATEWAY, HTTPStatus.GATEWAY_TIMEOUT)


TRUE = b'{"ok":true,"result":true}'


class RawResult:
    """The result of the Bot API call made inside `unparsed`, as Telegram sent it (None until it came)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: object = None

    def keep(self, body: bytes) -> bytes:
        """Keep the result of a successful answer; what PTB is given to parse in its place: an answer of
        True, or the answer itself where it holds no result (PTB refuses it as before)."""
        try:
            answer = json_codec.decode(body)
        except ValueError:
            return body
        if not isinstance(answer, dict) or "result" not in answer:
            return body
        self.value = answer["result"]
        return TRUE

    def message_id(self, returned: object) -> int:
        """The id of the message the call sent or edited. `returned` is what its Bot method returned: a
        `Message` where the call did not pass through `CountedRequest` (a bot built without it)."""
        value = self.value
        if isinstance(value, dict):
            return int(value["message_id"])
        if isinstance(returned, Message):
            return returned.message_id
        raise TypeError(f"No message in the result of the call: {value!r}")


_unparsed: ContextVar[RawResult | None] = ContextVar("unparsed", default=None)


@contextlib.contextmanager
def unparsed() -> Iterator[RawResult]:
    """Bot API calls made inside give their Bot method True in place of their result (a send or an edit
    returns True then, as it does for an inline message), and the result is kept unparsed in the
    `RawResult` given (the last call's). For callers that read nothing of it, or only its message id."""
    raw = RawResult()
    token = _unparsed.set(raw)
    try:
        yield raw
    finally:
        _unparsed.reset(token)


def values(request_data: RequestData) -> dict[str, object]:
    """A request's values for a JSON body: structured ones (a keyboard, link preview options) as JSON
    objects and arrays, which the Bot API reads as it reads their JSON text, so each is encoded once, with
    the body (PTB's `json_parameters` encodes each alone, then the body holds it as a string: 28 us for a
    card's edit against 9); the others as the text `json_parameters` gives."""
    return {
        name: value if isinstance(value, str | dict | list) else json_codec.encode(value).decode()
        for name, value in request_data.parameters.items()
    }


class Route:
    """Where a Bot API URL goes: its pool (None: through httpx), its path, its method as a metrics label."""

    __slots__ = ("name", "path", "pool")

    def __init__(self, name: str, pool: KeepAlivePool | None, path: str) -> None:
        self.name = name
        self.pool = pool
        self.path = path


class CountedRequest(HTTPXRequest):
    """PTB's request object that counts each call in bot_telegram_requests_total (and 429s)."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        connection_pool_size: int = CONNECTIONS,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            connection_pool_size=connection_pool_size,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            httpx_kwargs={"verify": tls} if tls is not None else None,
        )
        self._tls = tls  # shared with the bot's other clients (one CA store in memory)
        self._metrics = metrics
        self._size = connection_pool_size
        self._timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        self._proxied = set(urllib.request.getproxies()) & {"http", "https", "all"}
        self._pools: dict[str, KeepAlivePool] = {}
        self._routes: dict[str, Route] = {}
        self._counters: dict[tuple[str, str], Counter] = {}
        self._retry_after = metrics.retry_after.labels(service="telegram")

    def _route(self, url: str) -> Route:
        found = self._routes.get(url)
        if found is None:
            found = self._new_route(url)
            if len(self._routes) < 256:  # a few dozen methods: never grows without bound
                self._routes[url] = found
        return found

    def _new_route(self, url: str) -> Route:
        name = url.rsplit("/", 1)[-1]
        name = name if METHOD.fullmatch(name) else "other"  # the token is in the path, never a label
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        plain = path.isascii() and path.isprintable() and " " not in path and not parts.fragment
        if parts.scheme not in ("http", "https") or not plain or self._proxied & {parts.scheme, "all"}:
            return Route(name, None, path)
        origin = f"{parts.scheme}://{parts.netloc}"
        pool = self._pools.get(origin)
        if pool is None:
            ssl_context = (self._tls or httpx.create_ssl_context()) if parts.scheme == "https" else None
            pool = self._pools[origin] = KeepAlivePool(origin, self._size, ssl_context, self.USER_AGENT)
        return Route(name, pool, path)

    def _timeouts_of(self, *given: Any) -> tuple[float | None, ...] | None:
        """The read, write, connect and pool timeouts of a call (ours where PTB passed none), or None for a
        default of PTB's own kind (left to httpx)."""
        chosen: list[float | None] = []
        for value, default in zip(given, self._timeouts, strict=True):
            if value is self.DEFAULT_NONE:
                chosen.append(default)
            elif value is None or isinstance(value, int | float):
                chosen.append(value)
            else:
                return None
        return tuple(chosen)

    def _count(self, name: str, outcome: str) -> None:
        counter = self._counters.get((name, outcome))
        if counter is None:
            counter = self._metrics.telegram_requests.labels(method=name, outcome=outcome)
            if len(self._counters) < 1024:
                self._counters[name, outcome] = counter
        counter.inc()

    @staticmethod
    def parse_json_payload(payload: bytes) -> Any:
        """An answer's JSON, read by orjson (storage/json_codec.py); a body that is not JSON (or not
        UTF-8) goes to PTB's own reading, which replaces bad bytes, and logs and raises as before."""
        try:
            return json_codec.decode(payload)
        except ValueError:
            return HTTPXRequest.parse_json_payload(payload)

    async def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.close()
        await super().shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        route = self._route(url)
        timeouts = self._timeouts_of(read_timeout, write_timeout, connect_timeout, pool_timeout)
        try:
            if (
                route.pool is not None
                and method == "POST"
                and timeouts is not None
                and not (request_data is not None and request_data.contains_files)
            ):
                read, write, connect, pool = timeouts
                form = values(request_data) if request_data is not None else {}
                status, body = await route.pool.post(route.path, form, connect, write, read, pool)
            else:
                status, body = await super().do_request(
                    url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
                )
        except AnswerLost as exc:
            self._count(route.name, "network_error")
            raise OutcomeUnknown(f"Timed out waiting for the answer to {route.name}") from exc
        except NetworkError as exc:
            self._count(route.name, "network_error")
            if isinstance(exc, TimedOut) and isinstance(exc.__cause__, httpx.ReadTimeout):
                raise OutcomeUnknown(f"Timed out waiting for the answer to {route.name}") from exc
            raise
        outcome = outcome_of(status)
        self._count(route.name, outcome)
        if status in LOST_ANSWER:
            raise OutcomeUnknown(f"{HTTPStatus(status).phrase} answering {route.name}")
        if outcome == "retry_after":
            self._retry_after.inc()
        raw = _unparsed.get()
        if raw is not None and HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            return status, raw.keep(body)
        return status, body
