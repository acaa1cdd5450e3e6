"""The bot's side of Telegram's flood limits (bot/telegram/limits.py), driven as PTB drives it."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.telegram.connections import answer_arrived
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


async def test_a_period_starts_when_the_answer_began_to_arrive_not_when_the_caller_resumed() -> None:
    """Telegram counted the request before it answered: the period can start when the answer's first bytes
    came (the transport notes it), not when the task awaiting them got its turn on a busy loop."""
    loop = asyncio.get_running_loop()
    limiter = ChatRateLimiter(overall_per_second=100, chat_burst=1, chat_period=0.5)
    times: dict[str, float] = {}

    async def slow_to_resume() -> dict[str, Any]:
        times["arrived"] = loop.time()
        answer_arrived.set(times["arrived"])  # as KeepAlivePool.post notes it
        mark = times["arrived"] + 0.3
        await eventually_async(lambda: loop.time() >= mark, 5, "the caller resuming late")
        times["returned"] = loop.time()
        return {"ok": True}

    async def second() -> dict[str, Any]:
        times["second went"] = loop.time()
        return {"ok": True}

    await limiter.process_request(slow_to_resume, (), {}, "sendMessage", {"chat_id": 1, "text": "a"}, None)
    await limiter.process_request(second, (), {}, "sendMessage", {"chat_id": 1, "text": "b"}, None)
    assert times["second went"] >= times["arrived"] + 0.5 - 0.005
    assert times["second went"] < times["returned"] + 0.5 - 0.1, "the period was counted from the return"


async def test_an_arrival_noted_before_the_request_went_is_not_its_answer() -> None:
    """A time left in the context by an earlier request (or none: a call through httpx) counts nothing: the
    period then starts when the call returned."""
    loop = asyncio.get_running_loop()
    limiter = ChatRateLimiter(overall_per_second=100, chat_burst=1, chat_period=0.3)
    answer_arrived.set(loop.time() - 10)
    returned = 0.0

    async def first() -> dict[str, Any]:
        nonlocal returned
        returned = loop.time()
        return {"ok": True}

    await _call_with(limiter, first, {"chat_id": 1, "text": "a"})
    went = loop.time()
    await _call(limiter, "sendMessage", {"chat_id": 1, "text": "b"})
    assert loop.time() - returned >= 0.3 - 0.005 and loop.time() - went > 0.2


async def _call_with(limiter: ChatRateLimiter, callback: Any, data: dict[str, Any]) -> Any:
    return await limiter.process_request(callback, (), {}, "sendMessage", data, None)


async def test_requests_in_line_go_in_their_order_and_a_cancelled_one_leaves_its_turn() -> None:
    """When room comes, every request it fits goes, first come first served; a request that gave up
    waiting leaves its turn to the next."""
    loop = asyncio.get_running_loop()
    limiter = ChatRateLimiter(overall_per_second=3, chat_burst=100, chat_period=1)
    for chat in (1, 2, 3):
        await _call(limiter, "sendMessage", {"chat_id": chat, "text": "full"})
    went: list[str] = []

    def write(name: str) -> asyncio.Task[Any]:
        async def callback() -> dict[str, Any]:
            went.append(name)
            return {"ok": True}

        return asyncio.create_task(_call_with(limiter, callback, {"chat_id": 9, "text": name}))

    tasks = {name: write(name) for name in ("a", "b", "c", "d")}
    await eventually_async(lambda: limiter._overall.waiting, 5, "the writes in line")
    tasks["b"].cancel()
    started = loop.time()
    await asyncio.gather(tasks["a"], tasks["c"], tasks["d"])
    assert went == ["a", "c", "d"]
    assert loop.time() - started < 1.5, "a request waited for a place a cancelled one had left"
    assert tasks["b"].cancelled()
    assert not limiter._overall.waiting
