"""Fault switches: make the next matching requests fail the ways Zoom (and networks) fail."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.zoom.errors import xml_error
from sandbox.zoom.limits import RETRY_AFTER_FORMATS, RateLimits, rate_label

# Every kind with its parameters and their defaults.
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "status": {"status": 500, "body": None, "headers": {}, "commit": False},
    "xml": {"status": 400, "code": 300, "message": "Validation Failed.", "commit": False},
    "delay": {"seconds": 1.0},
    "hang": {"seconds": 60.0},
    "commit_then_hang": {"seconds": 60.0},
    "drop": {},
    "commit_then_drop": {},
    "qps_429": {"retry_after": 1},
    "daily_429": {"retry_after": "iso"},
}


@dataclass
class Fault:
    """One switch: what to do to the next `remaining` requests (None = all) matching method and path."""

    method: str
    path_pattern: str
    kind: str
    remaining: int | None
    skip: int
    params: dict[str, Any]

    def matches(self, method: str, path: str) -> bool:
        """Whether a request falls under this switch (`*` matches any method; the path is a glob)."""
        return self.method in ("*", method) and fnmatchcase(path, self.path_pattern)

    def describe(self) -> dict[str, Any]:
        """The switch as the control API shows it."""
        return {
            "method": self.method,
            "path": self.path_pattern,
            "kind": self.kind,
            "remaining": self.remaining,
            "skip": self.skip,
            "params": copy.deepcopy(self.params),
        }


def _checked_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
    unknown = set(params) - set(FAULT_KINDS[kind])
    if unknown:
        raise ValueError(f"fault {kind!r} takes no {sorted(unknown)}; it takes {sorted(FAULT_KINDS[kind])}")
    merged = {**copy.deepcopy(FAULT_KINDS[kind]), **params}
    if kind == "daily_429" and merged["retry_after"] not in RETRY_AFTER_FORMATS:
        raise ValueError(f"daily_429 retry_after must be one of {RETRY_AFTER_FORMATS}")
    if "seconds" in merged and float(merged["seconds"]) < 0:
        raise ValueError("seconds must not be negative")
    return merged


class FaultBook:
    """The active switches, consulted in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self, method: str, path_pattern: str, kind: str, count: int | None = 1, skip: int = 0, **params: Any
    ) -> None:
        """Arm a switch for `count` matching requests (None: until cleared), after letting `skip` pass."""
        if count is not None and count < 1:
            raise ValueError("count must be at least 1, or None for every matching request")
        fault = Fault(method.upper(), path_pattern, kind, count, skip, _checked_params(kind, params))
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The switch this request trips, if any, counting it down."""
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is None:
                return None
            if fault.skip > 0:
                fault.skip -= 1
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
            return copy.deepcopy(fault)

    def clear(self) -> None:
        """Disarm every switch."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        """The armed switches."""
        with self._lock:
            return [fault.describe() for fault in self._faults]


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app once, then defers to the connection."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, keep)
    return messages


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class Holds:
    """Requests held open by hang faults; `release_all` lets the current ones go (e.g. before shutdown)."""

    def __init__(self) -> None:
        self._generation = 0

    def release_all(self) -> None:
        """Stop holding every request held right now."""
        self._generation += 1

    async def hold(self, receive: Receive, seconds: float) -> bool:
        """Keep the request open for `seconds`, until released or the client leaves; True if it left."""
        generation = self._generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        waiter = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            while not waiter.done() and generation == self._generation and loop.time() < deadline:
                await asyncio.wait({waiter}, timeout=0.05)
            return waiter.done()
        finally:
            waiter.cancel()


Runner = Callable[[Fault, ASGIApp, Scope, bytes, Receive, Send], Awaitable[None]]


class FaultRunner:
    """Carries out a tripped switch around the real app.

    `receive` is the connection's own (the body already read into `body`); `commit_*` kinds and
    `commit=True` run the real handler first, so the change happens although the client never learns it.
    """

    def __init__(self, limits: RateLimits, holds: Holds) -> None:
        self._limits = limits
        self._holds = holds
        self._runners: dict[str, Runner] = {
            "delay": self._delay,
            "hang": self._hang,
            "commit_then_hang": self._hang,
            "drop": self._drop,
            "commit_then_drop": self._drop,
        }

    async def run(
        self, fault: Fault, app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> None:
        """Answer this request the way the switch says."""
        runner = self._runners.get(fault.kind, self._canned)
        await runner(fault, app, scope, body, receive, send)

    async def _delay(
        self, fault: Fault, app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> None:
        await asyncio.sleep(float(fault.params["seconds"]))
        await app(scope, replaying(body, receive), send)

    async def _hang(
        self, fault: Fault, app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> None:
        committed = fault.kind == "commit_then_hang"
        answer = await _capture(app, scope, replaying(body, receive)) if committed else None
        if await self._holds.hold(receive, float(fault.params["seconds"])):
            return
        if answer is None:
            await app(scope, replaying(body, receive), send)
            return
        for message in answer:
            await send(message)

    async def _drop(
        self, fault: Fault, app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> None:
        status = 200
        if fault.kind == "commit_then_drop":
            answer = await _capture(app, scope, replaying(body, receive))
            status = next(m["status"] for m in answer if m["type"] == "http.response.start")
        # ASGI cannot reset a socket; headers promising a body that never comes, then returning, makes
        # uvicorn close the connection, so the client sees the connection die mid-response.
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"64")]})

    async def _canned(
        self, fault: Fault, app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> None:
        if fault.params.get("commit"):
            await _capture(app, scope, replaying(body, receive))
        await self._response(fault, str(scope["path"]))(scope, receive, send)

    def _response(self, fault: Fault, path: str) -> Response:
        params = fault.params
        if fault.kind == "xml":
            return xml_error(int(params["status"]), int(params["code"]), str(params["message"]))
        if fault.kind == "qps_429":
            return self._limits.qps_exceeded(rate_label(path), int(params["retry_after"])).response()
        if fault.kind == "daily_429":
            return self._limits.daily_exceeded(rate_label(path), str(params["retry_after"])).response()
        return _status_response(int(params["status"]), params["body"], dict(params["headers"]))


def _status_response(status: int, body: Any, headers: dict[str, str]) -> Response:
    if body is None:
        body = {"code": status, "message": _phrase(status)}
    if isinstance(body, str):
        return Response(body, status_code=status, headers=headers, media_type="text/plain")
    return JSONResponse(body, status_code=status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
