"""Injected trouble (failures, flood control, slowness) and the log of every Bot API call."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from sandbox.clock import Clock
from sandbox.telegram.errors import BotApiError, too_many_requests

_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: injected failure",
    500: "Internal Server Error",
}
# Gateway errors come from Telegram's nginx as an HTML page, not as a JSON envelope.
_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n"
    "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)
_GATEWAY_PHRASES = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


@dataclass
class _Injection:
    status: int
    retry_after: int | None
    description: str | None
    remaining: int
    commit: bool = False  # the method takes effect, then the error is the answer (a gateway losing it)


class FailOptions(TypedDict, total=False):
    """How injected failures behave (`fail_next`; each has a default)."""

    retry_after: int | None  # with 429: the wait Telegram asks for (1 s)
    count: int  # how many calls in a row fail (1)
    description: str | None  # the error's text (Telegram's own for the status)
    commit: bool  # the call takes effect first, and only its answer is the error (False)


@dataclass(frozen=True)
class Failure:
    """An injected error, and whether the call takes effect before it is answered with it."""

    error: BotApiError
    commit: bool


def injected_error(status: int, retry_after: int | None, description: str | None) -> BotApiError:
    """The error a real server (or its gateway) would send with this status."""
    if status == 429:
        return too_many_requests(retry_after if retry_after is not None else 1)
    if status in _GATEWAY_PHRASES:
        page = _GATEWAY_PAGE.format(status=status, phrase=_GATEWAY_PHRASES[status])
        return BotApiError(status, description or _GATEWAY_PHRASES[status], html_body=page)
    parameters = {"retry_after": retry_after} if retry_after else None
    return BotApiError(status, description or _DESCRIPTIONS.get(status, "Internal Server Error"), parameters)


class Faults:
    """Failures queued per method (`*` = any), per-chat and overall flood limits, and per-method delays."""

    def __init__(self, clock: Clock, lock: threading.RLock) -> None:
        self._clock = clock
        self._lock = lock
        self._injections: dict[str, deque[_Injection]] = {}
        self._flood: tuple[int, float] | None = None
        self._sent: dict[int, deque[float]] = {}
        self._overall: tuple[int, float] | None = None
        self._sent_overall: deque[float] = deque()
        self._delays: dict[str, float] = {}

    def fail_next(self, method: str, status: int = 429, **options: Unpack[FailOptions]) -> None:
        """The next `count` calls of `method` fail with `status`; with `commit`, each call takes
        effect first (a message is delivered) and only its answer is the error, as when Telegram's gateway
        answers 502 or 504 for a request its backend carried out."""
        injection = _Injection(
            status,
            options.get("retry_after"),
            options.get("description"),
            options.get("count", 1),
            options.get("commit", False),
        )
        with self._lock:
            self._injections.setdefault(method.lower(), deque()).append(injection)

    def take_failure(self, method: str) -> Failure | None:
        with self._lock:
            for name in (method.lower(), "*"):
                queue = self._injections.get(name)
                if queue:
                    injection = queue[0]
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        queue.popleft()
                    error = injected_error(injection.status, injection.retry_after, injection.description)
                    return Failure(error, injection.commit)
            return None

    def set_flood_limit(self, max_messages: int | None, per_seconds: float = 1.0) -> None:
        """At most `max_messages` sends per chat in any `per_seconds` window (None switches it off)."""
        with self._lock:
            self._flood = None if max_messages is None else (max_messages, per_seconds)
            self._sent.clear()

    def set_overall_limit(self, max_messages: int | None, per_seconds: float = 1.0) -> None:
        """At most `max_messages` sends to all chats together in any `per_seconds` window (None: off).

        Telegram's bulk limit (about 30 messages a second); a refused send does not count.
        """
        with self._lock:
            self._overall = None if max_messages is None else (max_messages, per_seconds)
            self._sent_overall.clear()

    def check_flood(self, chat_id: int) -> None:
        """Count one send to `chat_id`; 429 with the wait Telegram would ask for when over a limit."""
        with self._lock:
            now = self._clock.time()
            sent = None
            if self._flood is not None:
                limit, window = self._flood
                sent = self._sent.setdefault(chat_id, deque())
                _refuse_over(sent, limit, window, now)
            if self._overall is not None:
                limit, window = self._overall
                _refuse_over(self._sent_overall, limit, window, now)
                self._sent_overall.append(now)
            if sent is not None:
                sent.append(now)

    def set_delay(self, seconds: float, method: str = "*") -> None:
        with self._lock:
            self._delays[method.lower()] = seconds

    def delay_for(self, method: str) -> float:
        with self._lock:
            return self._delays.get(method.lower(), self._delays.get("*", 0.0))

    def clear(self) -> None:
        with self._lock:
            self._injections.clear()
            self._flood = None
            self._sent.clear()
            self._overall = None
            self._sent_overall.clear()
            self._delays.clear()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pending_failures": {
                    name: [vars(item) for item in queue] for name, queue in self._injections.items() if queue
                },
                "flood_limit": None
                if self._flood is None
                else {"max_messages": self._flood[0], "per_seconds": self._flood[1]},
                "overall_limit": None
                if self._overall is None
                else {"max_messages": self._overall[0], "per_seconds": self._overall[1]},
                "delays": dict(self._delays),
            }


def _refuse_over(sent: deque[float], limit: int, window: float, now: float) -> None:
    """Forget sends older than the window; 429 when `limit` sends are still inside it."""
    while sent and sent[0] <= now - window:
        sent.popleft()
    if len(sent) >= limit:
        raise too_many_requests(max(1, math.ceil(sent[0] + window - now)))


class CallLog:
    """Every request the bot made: method, decoded params, HTTP status, error description."""

    def __init__(self, clock: Clock, lock: threading.RLock, size: int = 50_000) -> None:
        self._clock = clock
        self._lock = lock
        self._calls: deque[dict[str, Any]] = deque(maxlen=size)

    def record(self, method: str, params: dict[str, Any], status: int, description: str | None) -> None:
        entry = {"method": method, "params": params, "status": status, "description": description}
        with self._lock:
            self._calls.append({**entry, "at": self._clock.time()})

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                call for call in self._calls if method is None or call["method"].lower() == method.lower()
            ]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
