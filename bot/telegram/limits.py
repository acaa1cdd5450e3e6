"""Telegram's flood limits on our side: about 30 messages a second overall and, per chat, short bursts
then about one message a second; edits count like new messages, as Telegram counts them. A RetryAfter
pauses what Telegram asked to pause: the chat the request was for, or every request when it was for no chat
(a global flood wait).

Each limit is a sliding window (at most N requests in any period, as Telegram and the sandbox count them)
in which a request holds its place from the moment it goes until its answer has come (the moment the
answer's first bytes came, as the connection notes it, not when the awaiting task next got its turn on
the event loop), and only then starts its period: Telegram counts a request when it arrives, which is
after we send it, so a window counted from our sending would let two requests arrive closer together
than the limit allows whenever the later one travels faster. When room comes, every request in line
that it fits goes then, in order.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram.connections import answer_arrived, clock

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]
WRITES = ("send", "edit")  # methods that count against a chat's limit (new messages and edits)
_KINDS: dict[str, tuple[bool, bool]] = {}
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


def _kind(endpoint: str) -> tuple[bool, bool]:
    """Whether a method counts against its chat's limit, and whether it is an edit (found once a method)."""
    found = _KINDS.get(endpoint)
    if found is None:
        name = endpoint.lower()
        found = (name.startswith(WRITES), name.startswith("edit"))
        if len(_KINDS) < 256:
            _KINDS[endpoint] = found
    return found


class Window:
    """At most `limit` requests in any `period` seconds; the requests take their turns in order.

    A request holds a place from `take` until `leave`, which starts its period at the time its answer came.
    When room comes, every request in line that it fits is given its place at once.
    """

    __slots__ = ("_done", "_going", "_limit", "_period", "_timer", "_timer_at", "_waiters")

    def __init__(self, limit: int, period: float) -> None:
        self._limit = limit
        self._period = period
        self._done: deque[float] = deque()  # when each answer of the last period came, earliest first
        self._going = 0  # requests given a place and not answered yet
        self._waiters: deque[asyncio.Future[None]] = deque()  # in line, first come first served
        self._timer: asyncio.TimerHandle | None = None  # wakes the line when the earliest period ends
        self._timer_at = 0.0  # then (`clock`)

    def _room(self, now: float) -> int:
        done = self._done
        while done and done[0] <= now - self._period:
            done.popleft()
        return self._limit - self._going - len(done)

    def wait(self) -> float:
        """About how many seconds until a request could go: 0 when there is room now, or when the room is
        taken only by requests on their way (answered in moments); requests in line are not counted."""
        now = clock()
        if self._room(now) > 0 or not self._done:
            return 0.0
        return max(0.0, self._done[0] + self._period - now)

    @property
    def waiting(self) -> bool:
        """A request is in line for room in the window."""
        return bool(self._waiters)

    @property
    def idle(self) -> bool:
        """Nothing in its period, on its way or in line (the window can be forgotten)."""
        self._room(clock())
        return not self._done and not self._going and not self._waiters

    async def take(self, wait: bool = True) -> None:
        """Take a place for one request (`leave` or `give_back` ends it); without `wait`, at once (it still
        counts)."""
        if wait and (self._waiters or self._room(clock()) <= 0):
            turn = asyncio.get_running_loop().create_future()
            self._waiters.append(turn)
            self._arm()
            try:
                await turn  # `_grant` took the place for it
            except BaseException:
                if turn.done() and not turn.cancelled():  # given its place, then cancelled: pass it on
                    self.give_back()
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(turn)
                raise
            return
        self._going += 1

    def leave(self, answered_at: float) -> None:
        """The request's answer came at `answered_at` (`clock`): its period starts there."""
        self._going -= 1
        done = self._done
        if done and answered_at < done[-1]:
            bisect.insort(done, answered_at)
        else:
            done.append(answered_at)
        if self._waiters:
            self._grant()

    def give_back(self) -> None:
        """A place taken for a request that never went: free, and counted nowhere."""
        self._going -= 1
        if self._waiters:
            self._grant()

    def _wake(self) -> None:
        self._timer = None
        self._grant()

    def _grant(self) -> None:
        room = self._room(clock())
        waiters = self._waiters
        while room > 0 and waiters:
            turn = waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                self._going += 1
                room -= 1
        if waiters:
            self._arm()

    def _arm(self) -> None:
        """Grant room to the line when the earliest answer's period ends (an answer coming grants it too)."""
        if not self._done:
            return
        when = self._done[0] + self._period
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        self._timer_at = when
        self._timer = asyncio.get_running_loop().call_later(max(0.0, when - clock()), self._wake)


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
            wait = max(wait, until - clock())
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
        write, edit = _kind(endpoint)
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            if self._paused or not self._resume.is_set():
                await self._ready(target)
            chat = self._chat(target) if write and target is not None else None
            try:
                if chat is not None:
                    await chat.take(wait=not (edit and str(target) == _answering.get()))
                if target is not None:
                    try:
                        await self._overall.take()
                    except BaseException:
                        if chat is not None:
                            chat.give_back()
                        raise
                sent = clock()
                try:
                    return await callback(*args, **kwargs)
                finally:
                    if target is not None:
                        # The period starts when the answer began to arrive (Telegram had counted the
                        # request by then), as the connection noted it; else now.
                        now = clock()
                        arrived = answer_arrived.get()
                        at = arrived if arrived is not None and sent <= arrived <= now else now
                        self._overall.leave(at)
                        if chat is not None:
                            chat.leave(at)
            except RetryAfter as exc:
                if attempt == retries:
                    self._note_pause(exc, endpoint, target)
                    raise
                await self._pause(exc, endpoint, target)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ready(self, target: object) -> None:
        """Wait out a global pause, then a pause of this request's chat."""
        while True:
            await self._resume.wait()
            until = self._paused.get(str(target)) if target is not None else None
            if until is None or until <= clock():
                if until is not None:
                    self._paused.pop(str(target), None)
                return
            await asyncio.sleep(until - clock())

    def _note_pause(self, exc: RetryAfter, endpoint: str, target: object) -> float:
        value: Any = exc.retry_after
        seconds = (value.total_seconds() if isinstance(value, timedelta) else float(value)) + 0.1
        if target is not None:
            if len(self._paused) > 4096:
                now = clock()
                self._paused = {chat: until for chat, until in self._paused.items() if until > now}
            log.info(
                "Telegram asked chat %s to wait %.1f s (%s); pausing that chat", target, seconds, endpoint
            )
            until = clock() + seconds
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
