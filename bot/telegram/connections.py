"""Keep-alive HTTP/1.1 connections to the Bot API, for its one kind of call: a small POST, a JSON answer.

httpx spent about 1 ms of CPU on such a call (py-spy, bench.orders' burst): its client parses the URL, token
included, twice; httpcore looks over every pooled connection twice per request, asking each idle one's socket
whether it was closed (anyio answers with a dict of the socket's attributes and a `getpeername` call) and
comparing every pair of idle ones; h11 and anyio add their state machines, locks and cancel scopes; the
headers and the body go out in two writes. Here a request (its values as one JSON object, which the Bot API
reads like a form) is written whole with one write, its answer is
read by its Content-Length (or its chunks), and an idle connection is known closed when its protocol saw the
end of its stream. Uploads, and every call when the environment names a proxy, stay with httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from contextvars import ContextVar
from typing import NamedTuple, cast
from urllib.parse import urlsplit

from telegram.error import NetworkError, TimedOut

from storage import json_codec

MAX_HEAD = 64 * 1024  # an answer's status line and headers
KEEPALIVE_SECONDS = 4.0  # an idle connection is closed before common servers drop it (uvicorn: 5 s)
# The clock of answer arrivals and of the flood limits (bot/telegram/limits.py): the monotonic clock in
# full. The event loop's time would do on asyncio's loop (the same clock), but uvloop's counts whole
# milliseconds: an arrival noted up to 1 ms early let a request reach Telegram just under a period after the
# one it waited for (429 answers, in the limits part of bench.orders).
clock = time.monotonic
# The time (`clock`) at which the answer to the last request posted in this context began to arrive: the
# server had received the request by then (the flood limits start its period there).
answer_arrived: ContextVar[float | None] = ContextVar("answer_arrived", default=None)


class AnswerLost(NetworkError):
    """The request went out and no whole answer came in time: it may have been carried out."""


# Where a request failed, for callers that tell the phases apart (bot/zoom/transport.py gives httpx's
# exceptions); the Bot API's calls see PTB's TimedOut and NetworkError, of which these are kinds.
class PoolTimedOut(TimedOut):
    """No connection was free in time: the request was not sent."""


class ConnectTimedOut(TimedOut):
    """The connection was not made in time: the request was not sent."""


class ConnectFailed(NetworkError):
    """The connection could not be made: the request was not sent."""


class SendTimedOut(TimedOut):
    """The request could not be written in time."""


class SendFailed(NetworkError):
    """The connection closed before the request was written whole."""


class _Connection(asyncio.Protocol):
    """One connection: the bytes received so far, and whether the stream has ended."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False
        self.idle_since = 0.0
        self.arrived: float | None = None  # when the first bytes of the awaited answer came
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport by class

    def data_received(self, data: bytes) -> None:
        if self.arrived is None:
            self.arrived = clock()
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None:
            if not self._writable.done():
                self._writable.set_result(None)
            self._writable = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    @property
    def paused(self) -> bool:
        """The transport's write buffer is above its high-water mark (`drain` would wait)."""
        return self._writable is not None

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        if self._writable is not None:
            await asyncio.shield(self._writable)
        if self.ended:
            raise SendFailed("The connection closed while the request was being sent")

    async def more(self) -> None:
        """Wait for more bytes (or the end of the stream, an error here)."""
        if self.ended:
            raise NetworkError("Server disconnected without sending a whole answer")
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    @property
    def usable(self) -> bool:
        """Idle and still open: the server has neither closed it nor sent anything unasked (and its event
        loop, on which alone it can be used, is the running one: an application may be started again)."""
        transport = self.transport
        if self.ended or self.buffer or transport is None or transport.is_closing():
            return False
        return self._loop is asyncio.get_running_loop()

    def send(self, data: bytes) -> None:
        if self.transport is None or self.ended:
            raise SendFailed("The connection closed before the request was sent")
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop was closed: the socket goes with the GC
                self.transport.close()
        self.ended = True


async def _read_head(connection: _Connection) -> tuple[int, str, list[tuple[str, str]], bool]:
    """The status, its reason, the headers (as sent, in order) and the HTTP version being 1.1, once all have
    come."""
    while True:
        end = connection.buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(connection.buffer) > MAX_HEAD:
            raise NetworkError("The answer's headers are too long")
        await connection.more()
    head = bytes(connection.buffer[:end]).decode("latin-1")
    del connection.buffer[: end + 4]
    status_line, *lines = head.split("\r\n")
    version, _, rest = status_line.partition(" ")
    try:
        status = int(rest[:3])
    except ValueError as exc:
        raise NetworkError(f"Not an HTTP answer: {status_line[:80]!r}") from exc
    if not version.startswith("HTTP/1."):
        raise NetworkError(f"Not an HTTP/1 answer: {status_line[:80]!r}")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return status, rest[4:], headers, version == "HTTP/1.1"


async def _read_exactly(connection: _Connection, size: int) -> bytes:
    while len(connection.buffer) < size:
        await connection.more()
    data = bytes(connection.buffer[:size])
    del connection.buffer[:size]
    return data


async def _read_line(connection: _Connection) -> bytes:
    while (end := connection.buffer.find(b"\r\n")) < 0:
        if len(connection.buffer) > MAX_HEAD:
            raise NetworkError("A chunk's size line is too long")
        await connection.more()
    line = bytes(connection.buffer[:end])
    del connection.buffer[: end + 2]
    return line


async def _read_chunks(connection: _Connection) -> bytes:
    body = bytearray()
    while True:
        line = await _read_line(connection)
        try:
            size = int(line.split(b";", 1)[0], 16)
        except ValueError as exc:
            raise NetworkError(f"A bad chunk size: {line[:40]!r}") from exc
        if size == 0:
            while await _read_line(connection):  # trailers, then the empty line
                continue
            return bytes(body)
        body += await _read_exactly(connection, size)
        if await _read_exactly(connection, 2) != b"\r\n":
            raise NetworkError("A chunk without its line end")


async def _read_to_end(connection: _Connection) -> bytes:
    while not connection.ended:
        await connection.more()
    data = bytes(connection.buffer)
    connection.buffer.clear()
    return data


class Answer(NamedTuple):
    """An HTTP answer as it came (its body whole, as its framing said)."""

    status: int
    reason: str
    headers: list[tuple[str, str]]  # as sent, in order
    body: bytes


async def read_answer(connection: _Connection, *, bodiless: bool = False) -> tuple[Answer, bool]:
    """The answer, and whether the connection can carry another request (`bodiless`: the answer to a HEAD
    request, whose length headers tell of a body not sent)."""
    while True:
        status, reason, pairs, keep = await _read_head(connection)
        if not 100 <= status < 200:
            break
    headers = {name.lower(): value for name, value in pairs}
    keep = keep and "close" not in headers.get("connection", "").lower()
    if bodiless or status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunks(connection)
    elif "content-length" in headers:
        try:
            size = int(headers["content-length"])
        except ValueError as exc:
            raise NetworkError("A bad Content-Length") from exc
        body = await _read_exactly(connection, size)
    else:
        body, keep = await _read_to_end(connection), False
    return Answer(status, reason, pairs, body), keep and not connection.buffer


class KeepAlivePool:
    """At most `size` connections to one origin (`http(s)://host[:port]`), the idle ones kept for reuse.

    A request beyond them waits for one to be free, first come first served.
    """

    def __init__(self, origin: str, size: int, ssl_context: ssl.SSLContext | None, user_agent: str) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Not an http(s) origin: {origin!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl_context if parts.scheme == "https" else None
        self._size = size
        default_port = self._port == (443 if parts.scheme == "https" else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        authority = host if default_port else f"{host}:{self._port}"
        self._head = (
            f"Host: {authority}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\n"
            "Content-Type: application/json\r\n"
        ).encode("latin-1")
        self._idle: list[_Connection] = []
        self._open = 0  # connections open or opening
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()

    async def post(
        self,
        path: str,
        form: dict[str, object],
        connect_timeout: float | None,
        write_timeout: float | None,
        read_timeout: float | None,
        pool_timeout: float | None,
    ) -> tuple[int, bytes]:
        """POST `form` to `path` as a JSON object of its values: the answer's status and body.

        The Bot API reads a JSON body as it reads a form (a structured value may come as a JSON object or
        as JSON text); orjson encodes it (storage/json_codec.py), where url-encoding quotes each byte in
        Python (about 100 us for a message with a keyboard).

        Raises TimedOut when the request could not go out in time (it was not carried out), `AnswerLost`
        when it went out and its answer did not come in time, NetworkError for a broken connection. When
        the first bytes of the answer came is left in `answer_arrived`.
        """
        body = json_codec.encode(form)
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            path.encode("ascii"),
            self._head,
            len(body),
            body,
        )
        answer = await self.exchange(request, connect_timeout, write_timeout, read_timeout, pool_timeout)
        return answer.status, answer.body

    async def exchange(
        self,
        request: bytes,
        connect_timeout: float | None,
        write_timeout: float | None,
        read_timeout: float | None,
        pool_timeout: float | None,
        *,
        bodiless: bool = False,
    ) -> Answer:
        """Send `request` (its request line, headers and body, whole) over a connection of the pool, and read
        its answer (`bodiless`: a HEAD request's, which has no body). Raises as `post` does."""
        connection = await self._acquire(connect_timeout, pool_timeout)
        keep = False
        try:
            connection.arrived = None
            connection.send(request)
            if connection.paused:  # most requests fit the socket's buffer at once: no timer for them
                try:
                    async with asyncio.timeout(write_timeout):
                        await connection.drain()
                except TimeoutError as exc:
                    raise SendTimedOut("Timed out sending the request") from exc
            elif connection.ended:
                raise SendFailed("The connection closed while the request was being sent")
            try:
                async with asyncio.timeout(read_timeout):
                    answer, keep = await read_answer(connection, bodiless=bodiless)
            except TimeoutError as exc:
                raise AnswerLost("Timed out waiting for the answer") from exc
            answer_arrived.set(connection.arrived)
            return answer
        finally:
            self._release(connection, keep)

    async def _acquire(self, connect_timeout: float | None, pool_timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        if not self._waiters:  # a newcomer goes behind the requests waiting
            while self._idle:
                connection = self._idle.pop()  # the most recently used: the likeliest still open
                if connection.usable and loop.time() - connection.idle_since < KEEPALIVE_SECONDS:
                    return connection
                self._drop(connection)
            if self._open < self._size:
                self._open += 1
                return await self._connect(loop, connect_timeout)
        given = await self._wait_turn(loop, pool_timeout)
        if given is not None:
            if given.usable:
                return given
            given.close()  # closed while handed over: its room is this request's
        return await self._connect(loop, connect_timeout)  # the room of a connection that closed

    async def _wait_turn(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: float | None,  # noqa: ASYNC109 (the pool timeout)
    ) -> _Connection | None:
        """Wait for a connection handed over by a finished request, or for the room one left (None)."""
        turn: asyncio.Future[_Connection | None] = loop.create_future()
        self._waiters.append(turn)
        try:
            async with asyncio.timeout(timeout):
                return await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled():  # handed over, then this request left: pass it on
                given = turn.result()
                if given is None:
                    self._free_room()
                else:
                    self._release(given, keep=True)
            else:
                turn.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(turn)
            if isinstance(exc, TimeoutError):
                raise PoolTimedOut(
                    "Pool timeout: every connection is busy. The request was not sent."
                ) from exc
            raise

    async def _connect(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: float | None,  # noqa: ASYNC109 (the connect timeout)
    ) -> _Connection:
        """A new connection in room already counted in `_open` (given back if it fails)."""
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                )
        except BaseException as exc:
            self._free_room()
            if isinstance(exc, TimeoutError):
                raise ConnectTimedOut("Timed out connecting") from exc
            if isinstance(exc, OSError):  # ssl.SSLError included
                raise ConnectFailed(f"Could not connect: {exc!r}") from exc
            raise
        return connection

    def _release(self, connection: _Connection, keep: bool) -> None:
        if keep and connection.usable:
            connection.idle_since = asyncio.get_running_loop().time()
            if not self._hand(connection):
                self._idle.append(connection)
        else:
            self._drop(connection)

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._free_room()

    def _free_room(self) -> None:
        """A connection closed (or never opened): its room goes to the first request waiting, if any."""
        if not self._hand(None):
            self._open -= 1

    def _hand(self, given: _Connection | None) -> bool:
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(given)
                return True
        return False

    def close(self) -> None:
        """Close the idle connections (the busy ones close as their requests end)."""
        while self._idle:
            self._drop(self._idle.pop())
