"""Telegram's flood limits on our side: about 30 requests a second overall and, per chat, short bursts
then about one new message a second. A RetryAfter pauses every request for the time Telegram asks."""

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
        # New messages count against a chat; edits and callback answers answer what the user just did.
        chat_id = data.get("chat_id") if endpoint.lower().startswith("send") else None
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._resume.wait()
            try:
                async with contextlib.AsyncExitStack() as stack:
                    if chat_id is not None:
                        await stack.enter_async_context(self._chat(chat_id))
                    await stack.enter_async_context(self._overall)
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                await self._pause(exc, endpoint)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _pause(self, exc: RetryAfter, endpoint: str) -> None:
        value: Any = exc.retry_after
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        log.info("Telegram asked to wait %.1f s (%s); pausing all requests", seconds, endpoint)
        self._resume.clear()
        try:
            await asyncio.sleep(seconds + 0.1)
        finally:
            self._resume.set()
