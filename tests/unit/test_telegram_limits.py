"""The bot's side of Telegram's flood limits (bot/telegram/limits.py), driven as PTB drives it."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.telegram.limits import ChatRateLimiter
from tests.support.waiting import eventually_async


async def _call(limiter: ChatRateLimiter, endpoint: str, data: dict[str, Any]) -> Any:
    async def callback() -> dict[str, Any]:
        return {"ok": True, "endpoint": endpoint}

    return await limiter.process_request(callback, (), {}, endpoint, data, None)


async def test_a_button_answer_does_not_wait_behind_messages_held_by_the_overall_limit() -> None:
    limiter = ChatRateLimiter(overall_per_second=1, chat_burst=100, chat_period=1)
    await _call(limiter, "sendMessage", {"chat_id": 1, "text": "a"})  # the overall budget of this second
    waiting = asyncio.create_task(_call(limiter, "sendMessage", {"chat_id": 2, "text": "b"}))
    await eventually_async(
        lambda: limiter._overall._waiters, 5, "the second message waiting for the next second"
    )
    answered = await _call(limiter, "answerCallbackQuery", {"callback_query_id": "1"})
    polled = await _call(limiter, "getUpdates", {"offset": 1, "timeout": 0})
    assert answered["endpoint"] == "answerCallbackQuery" and polled["endpoint"] == "getUpdates"
    assert not waiting.done(), "the answer waited behind a message to another chat"
    assert (await waiting)["endpoint"] == "sendMessage"  # held, not dropped


async def test_edits_count_against_the_overall_limit() -> None:
    limiter = ChatRateLimiter(overall_per_second=1, chat_burst=100, chat_period=1)
    await _call(limiter, "sendMessage", {"chat_id": 1, "text": "a"})
    edit = asyncio.create_task(
        _call(limiter, "editMessageText", {"chat_id": 2, "message_id": 1, "text": "b"})
    )
    await _call(limiter, "answerCallbackQuery", {"callback_query_id": "1"})  # the barrier: goes at once
    assert not edit.done(), "an edit went past the overall limit"
    await edit
