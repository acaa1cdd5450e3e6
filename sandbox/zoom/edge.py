"""What sits in front of every emulated Zoom endpoint: tracking ids, the request log, fault switches."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.clock import Clock
from sandbox.zoom.api import USER_KEY
from sandbox.zoom.faults import FaultBook, FaultRunner, replaying
from sandbox.zoom.ids import tracking_id
from sandbox.zoom.times import zoom_time

CONTROL_PREFIX = "/sandbox/"


class RequestLog:
    """Every request to the emulated Zoom (not to the control API), with what was answered."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def open(self, scope: Scope, body: bytes) -> int:
        """Log a request as it arrives; returns its index for later notes."""
        entry = {
            "method": scope["method"],
            "path": scope["path"],
            "query": dict(
                parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            ),
            "json": _json_or_none(body),
            "form": _form_or_none(scope, body),
            "status": None,  # what the client received; None if it received nothing
            "app_status": None,  # what the emulator's own logic answered, when it ran
            "user": None,
            "fault": None,
            "at": zoom_time(self._clock.now()),
        }
        with self._lock:
            self._entries.append(entry)
            return len(self._entries) - 1

    def note(self, index: int, **fields: Any) -> None:
        """Add what became known about a logged request."""
        with self._lock:
            self._entries[index].update(fields)

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the log, oldest first."""
        with self._lock:
            return copy.deepcopy(self._entries)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _form_or_none(scope: Scope, body: bytes) -> dict[str, str] | None:
    headers = dict(scope.get("headers", []))
    if not headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded"):
        return None
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class ZoomEdge:
    """ASGI middleware: logs each Zoom request, trips fault switches, stamps `x-zm-trackingid`."""

    def __init__(self, app: ASGIApp, faults: FaultBook, runner: FaultRunner, log: RequestLog) -> None:
        self.app = app
        self._faults = faults
        self._runner = runner
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        index = self._log.open(scope, body)
        to_client = self._to_client(send, index)
        app = self._logged_app(index)
        fault = self._faults.take(scope["method"], scope["path"])
        if fault is None:
            await app(scope, replaying(body, receive), to_client)
            return
        self._log.note(index, fault=fault.kind)
        await self._runner.run(fault, app, scope, body, receive, to_client)

    def _to_client(self, send: Send, index: int) -> Send:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-zm-trackingid", tracking_id().encode("ascii"))]
                message = {**message, "headers": headers}
                self._log.note(index, status=message["status"])
            await send(message)

        return stamped

    def _logged_app(self, index: int) -> ASGIApp:
        async def logged(scope: Scope, receive: Receive, send: Send) -> None:
            async def noted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    self._log.note(index, app_status=message["status"], user=scope.get(USER_KEY))
                await send(message)

            await self.app(scope, receive, noted)

        return logged
