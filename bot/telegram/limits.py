"""Telegram's flood limits on our side: about 30 messages a second overall and, per chat, short bursts
then about one message a second; edits count like new messages, as Telegram counts them. A RetryAfter
pauses what Telegram asked to pause: the chat the request was for, or every request when it was for no chat
(a global flood wait).

Each limit is a sliding window (at most N requests in any period, as Telegram and the sandbox count them)
in which a request holds its place from the moment it goes until its answer has come, and only then
starts its period: Telegram counts a request when it arrives, which is after we send it, so a window
counted from our sending would let two requests arrive closer together than the limit allows whenever
the later one travels faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]
WRITES = ("send", "edit")  # methods that count against a chat's limit (new messages and edits)
# The chat whose update is being handled: an edit there answers the person's own press or text, which they
# wait for, so it takes its place in the chat's window without waiting for it (background writes to that
# chat then wait behind it); new messages wait as everywhere.
_answering: ContextVar[str | None] = ContextVar("answering", default=None)


@contextlib.contextmanager
def answering(chat_id: object) -> Iterator[None]:
    """Mark the requests made inside as the bot's answer to an update of `chat_id`."""
    token = _answering.set(None if chat_id is None else str(chat_id))
    try:
        yield
    finally:
        _answering.reset(token)


class Window:
    """At most `limit` requests in any `period` seconds; the requests take their turns in order."""

    def __init__(self, limit: int, period: float) -> None:
        self._limit = limit
        self._period = period
        self._done: deque[float] = deque()  # when each answer of the last period came
        self._going = 0  # requests sent and not answered yet
        self._turn = asyncio.Lock()  # FIFO: the first in line waits for room, the others wait behind it
        self._freed = asyncio.Event()

    def _prune(self, now: float) -> None:
        while self._done and self._done[0] <= now - self._period:
            self._done.popleft()

    def wait(self) -> float:
        """About how many seconds until a request could go: 0 when there is room now, or when the room is
        taken only by requests on their way (answered in moments); requests in line are not counted."""
        now = asyncio.get_running_loop().time()
        self._prune(now)
        if self._going + len(self._done) < self._limit or not self._done:
            return 0.0
        return max(0.0, self._done[0] + self._period - now)

    @property
    def waiting(self) -> bool:
        """A request is in line for room in the window."""
        return self._turn.locked()

    @property
    def idle(self) -> bool:
        """Nothing in its period, on its way or in line (the window can be forgotten)."""
        self._prune(asyncio.get_running_loop().time())
        return not self._done and not self._going and not self._turn.locked()

    @contextlib.asynccontextmanager
    async def place(self, wait: bool = True) -> AsyncIterator[None]:
        """Hold a place in the window for one request; without `wait`, take it at once (it still counts)."""
        loop = asyncio.get_running_loop()
        if wait:
            await self._wait_for_room(loop)
        self._going += 1
        try:
            yield
        finally:
            self._going -= 1
            self._done.append(loop.time())
            self._freed.set()

    async def _wait_for_room(self, loop: asyncio.AbstractEventLoop) -> None:
        async with self._turn:
            while True:
                now = loop.time()
                self._prune(now)
                if self._going + len(self._done) < self._limit:
                    break
                self._freed.clear()
                timeout = self._done[0] + self._period - now if self._done else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._freed.wait(), timeout)


class ChatRateLimiter(BaseRateLimiter[int]):
    """Rate limits every chat, private ones included (PTB's AIORateLimiter limits groups only)."""

    def __init__(
        self,
        overall_per_second: float = 30,
        chat_burst: int = 5,
        chat_period: float = 5.0,
        max_retries: int = 2,
    ) -> None:
        # A rate of 30 a second is 30 in any second; a fractional rate, its whole number over a longer period.
        per_second = max(overall_per_second, 1e-6)
        period = max(1.0, 1.0 / per_second)
        self._overall = Window(max(1, round(per_second * period)), period)
        self._chat_burst = chat_burst
        self._chat_period = chat_period
        self._chats: dict[str, Window] = {}
        self._max_retries = max_retries
        self._resume = asyncio.Event()
        self._resume.set()
        self._paused: dict[str, float] = {}  # chat -> loop time until which Telegram asked it to wait

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _chat(self, chat_id: object) -> Window:
        key = str(chat_id)
        if key not in self._chats and len(self._chats) > 4096:
            for other, window in list(self._chats.items()):
                if window.idle:
                    del self._chats[other]
        found = self._chats.get(key)
        if found is None:
            found = self._chats[key] = Window(self._chat_burst, self._chat_period)
        return found

    def chat_wait(self, chat_id: object) -> float:
        """Seconds until a message or edit to that chat could go without waiting for the chat's limit (or
        for a pause Telegram asked of it); 0 when it could go now."""
        window = self._chats.get(str(chat_id))
        wait = window.wait() if window is not None else 0.0
        until = self._paused.get(str(chat_id))
        if until is not None:
            wait = max(wait, until - asyncio.get_running_loop().time())
        return max(0.0, wait)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        # New messages and edits count against their chat and against the overall bulk limit (requests for a
        # chat); answers to button presses, polling and settings do not: a press is answered at once even
        # while messages to many chats wait their turn (as PTB's own limiter does).
        target = data.get("chat_id")
        chat_id = target if endpoint.lower().startswith(WRITES) else None
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._ready(target)
            try:
                async with contextlib.AsyncExitStack() as stack:
                    if chat_id is not None:
                        answer = endpoint.lower().startswith("edit") and str(chat_id) == _answering.get()
                        await stack.enter_async_context(self._chat(chat_id).place(wait=not answer))
                    if target is not None:
                        await stack.enter_async_context(self._overall.place())
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    self._note_pause(exc, endpoint, target)
                    raise
                await self._pause(exc, endpoint, target)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ready(self, target: object) -> None:
        """Wait out a global pause, then a pause of this request's chat."""
        loop = asyncio.get_running_loop()
        while True:
            await self._resume.wait()
            until = self._paused.get(str(target)) if target is not None else None
            if until is None or until <= loop.time():
                if until is not None:
                    self._paused.pop(str(target), None)
                return
            await asyncio.sleep(until - loop.time())

    def _note_pause(self, exc: RetryAfter, endpoint: str, target: object) -> float:
        value: Any = exc.retry_after
        seconds = (value.total_seconds() if isinstance(value, timedelta) else float(value)) + 0.1
        if target is not None:
            if len(self._paused) > 4096:
                now = asyncio.get_running_loop().time()
                self._paused = {chat: until for chat, until in self._paused.items() if until > now}
            log.info(
                "Telegram asked chat %s to wait %.1f s (%s); pausing that chat", target, seconds, endpoint
            )
            until = asyncio.get_running_loop().time() + seconds
            self._paused[str(target)] = max(until, self._paused.get(str(target), 0.0))
        return seconds

    async def _pause(self, exc: RetryAfter, endpoint: str, target: object) -> None:
        seconds = self._note_pause(exc, endpoint, target)
        if target is not None:
            return  # the next attempt waits in `_ready`, and so does every other request for that chat
        log.info("Telegram asked to wait %.1f s (%s); pausing all requests", seconds, endpoint)
        self._resume.clear()
        try:
            await asyncio.sleep(seconds)
        finally:
            self._resume.set()


def chat_wait(bot: object, chat_id: object) -> float:
    """Seconds a message or edit to that chat would wait for the chat's flood limit now (0: none)."""
    limiter = getattr(bot, "rate_limiter", None)
    return limiter.chat_wait(chat_id) if isinstance(limiter, ChatRateLimiter) else 0.0
