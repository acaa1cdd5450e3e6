"""Telegram's flood limits on our side: about 30 requests a second overall and, per chat, short bursts
then about one new message a second. A RetryAfter pauses what Telegram asked to pause: the chat the request
was for, or every request when it was for no chat (a global flood wait)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]


class ChatRateLimiter(BaseRateLimiter[int]):
    """Rate limits every chat, private ones included (PTB's AIORateLimiter limits groups only)."""

    def __init__(
        self,
        overall_per_second: float = 30,
        chat_burst: int = 5,
        chat_period: float = 5.0,
        max_retries: int = 2,
    ) -> None:
        self._overall = AsyncLimiter(overall_per_second, 1)
        self._chat_burst = chat_burst
        self._chat_period = chat_period
        self._chats: dict[str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._resume = asyncio.Event()
        self._resume.set()
        self._paused: dict[str, float] = {}  # chat -> loop time until which Telegram asked it to wait

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _chat(self, chat_id: object) -> AsyncLimiter:
        key = str(chat_id)
        if key not in self._chats and len(self._chats) > 4096:
            for other, limiter in list(self._chats.items()):
                if limiter.has_capacity(self._chat_burst):
                    del self._chats[other]
        return self._chats.setdefault(key, AsyncLimiter(self._chat_burst, self._chat_period))

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        # New messages count against their chat. Messages and edits (requests for a chat) count against the
        # overall bulk limit; answers to button presses, polling and settings do not: a press is answered at
        # once even while messages to many chats wait their turn (as PTB's own limiter does).
        target = data.get("chat_id")
        chat_id = target if endpoint.lower().startswith("send") else None
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._ready(target)
            try:
                async with contextlib.AsyncExitStack() as stack:
                    if chat_id is not None:
                        await stack.enter_async_context(self._chat(chat_id))
                    if target is not None:
                        await stack.enter_async_context(self._overall)
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
