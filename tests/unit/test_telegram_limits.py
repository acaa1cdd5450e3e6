"""The bot's side of Telegram's flood limits (bot/telegram/limits.py), driven as PTB drives it."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.telegram.limits import ChatRateLimiter, answering
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
        lambda: limiter._overall.waiting, 5, "the second message waiting for the next second"
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


async def test_edits_count_against_their_chats_limit_and_other_chats_go_on() -> None:
    limiter = ChatRateLimiter(overall_per_second=100, chat_burst=2, chat_period=60)
    await _call(limiter, "sendMessage", {"chat_id": 1, "text": "a"})
    await _call(limiter, "editMessageText", {"chat_id": 1, "message_id": 1, "text": "b"})
    third = asyncio.create_task(
        _call(limiter, "editMessageReplyMarkup", {"chat_id": 1, "message_id": 1, "reply_markup": "{}"})
    )
    other = await _call(limiter, "editMessageText", {"chat_id": 2, "message_id": 1, "text": "c"})
    assert other["endpoint"] == "editMessageText"  # another chat is not held
    await _call(limiter, "answerCallbackQuery", {"callback_query_id": "1"})  # goes at once
    await eventually_async(lambda: limiter._chat(1).waiting, 5, "the third write in line")
    assert not third.done(), "a third write to the chat went within its period"
    assert limiter.chat_wait(1) > 50 and limiter.chat_wait(2) == 0
    third.cancel()


async def test_an_edit_answering_the_chats_own_update_goes_at_once_and_still_counts() -> None:
    """A person pressing buttons waits for the bot's edit: it is not held by the chat's window (new messages
    are), but it takes its place there, so a background write to that chat waits behind it."""
    limiter = ChatRateLimiter(overall_per_second=100, chat_burst=2, chat_period=60)
    await _call(limiter, "sendMessage", {"chat_id": 1, "text": "a"})
    await _call(
        limiter, "editMessageText", {"chat_id": 1, "message_id": 1, "text": "b"}
    )  # the window is full
    with answering(1):
        edited = await asyncio.wait_for(
            _call(limiter, "editMessageText", {"chat_id": 1, "message_id": 1, "text": "c"}), 5
        )
        sent = asyncio.create_task(_call(limiter, "sendMessage", {"chat_id": 1, "text": "d"}))
    with answering(2):  # answering another chat's update: a write to chat 1 is background work there
        other = asyncio.create_task(
            _call(limiter, "editMessageText", {"chat_id": 1, "message_id": 1, "text": "e"})
        )
    await _call(limiter, "answerCallbackQuery", {"callback_query_id": "1"})  # the barrier: goes at once
    await eventually_async(lambda: limiter._chat(1).waiting, 5, "the background writes in line")
    assert edited["endpoint"] == "editMessageText"
    assert not sent.done() and not other.done(), "a new message or a background edit went past the window"
    assert limiter.chat_wait(1) > 50  # the answering edit counted
    sent.cancel()
    other.cancel()


async def test_a_chats_limit_is_a_window_counted_from_each_answer() -> None:
    """At most `burst` writes in any period, the period of each counted from its answer (Telegram counts a
    request when it arrives): not a bucket that lets one more through every period / burst."""
    loop = asyncio.get_running_loop()
    limiter = ChatRateLimiter(overall_per_second=100, chat_burst=2, chat_period=0.4)
    release = asyncio.Event()
    times: dict[str, float] = {}

    def write(name: str, held: bool = False) -> asyncio.Task[Any]:
        async def callback() -> dict[str, Any]:
            times[f"{name} went"] = loop.time()
            if held:
                await release.wait()  # this answer takes its time
            times[f"{name} answered"] = loop.time()
            return {"ok": True}

        data = {"chat_id": 1, "text": name}
        return asyncio.create_task(limiter.process_request(callback, (), {}, "sendMessage", data, None))

    first = write("first", held=True)
    await write("second")
    third = write("third")
    await eventually_async(lambda: limiter._chat(1).waiting, 5, "the third write in line")
    assert not third.done(), "a write went while the chat's last two were on their way or in the period"
    release.set()
    await asyncio.gather(first, third)
    assert times["third went"] - times["second answered"] >= 0.4 - 0.005
    assert times["third went"] >= times["first answered"]
