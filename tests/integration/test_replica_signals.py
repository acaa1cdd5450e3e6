"""PostgreSQL signals between replicas: per-chat turns, and the wake-up when another replica queues a job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.domain import utcnow
from bot.jobs.outbox import Outbox
from bot.jobs.wakeup import JobWakeup
from bot.telegram.chat_turns import ChatTurns
from storage import repos
from storage.db import create_engine, create_lock_engine, create_sessionmaker, migrate
from tests.support.waiting import eventually_async, lock_waiters


async def test_one_chat_at_a_time_across_lock_connections_other_chats_alongside(
    any_database_url: str,
) -> None:
    postgres = any_database_url.startswith("postgresql")
    engines = [create_lock_engine(any_database_url) for _ in range(2)] if postgres else []
    # Two replicas: each its own lock engine (SQLite: one process, one in-process ChatTurns).
    turns = [ChatTurns(engine) for engine in engines] if postgres else [ChatTurns(None)] * 2
    order: list[str] = []
    first_in, other_chat_out = asyncio.Event(), asyncio.Event()
    chat = 7_000_000_001

    async def second_waits_its_turn() -> None:  # a2 is blocked on the chat's lock, not merely on its way
        if postgres:
            await lock_waiters(any_database_url)
        else:
            await eventually_async(
                lambda: turns[1]._local[chat][1] == 2, 10, "a2 waiting for the chat's turn"
            )

    async def handle(replica: int, chat: int, name: str, until: Callable[[], Awaitable[object]]) -> None:
        async with turns[replica].hold(chat):
            order.append(f"{name} in")
            first_in.set()
            await until()
            order.append(f"{name} out")
        if name == "b1":
            other_chat_out.set()

    async def at_once() -> None:
        return None

    async def until_the_others_are_seen() -> None:  # a1 holds its turn until b1 is done and a2 waits
        await other_chat_out.wait()
        await second_waits_its_turn()

    first = asyncio.create_task(handle(0, chat, "a1", until_the_others_are_seen))
    await first_in.wait()
    await asyncio.gather(handle(1, chat, "a2", at_once), handle(1, 42, "b1", at_once), first)
    for engine in engines:
        await engine.dispose()
    assert order.index("a2 in") > order.index("a1 out"), order  # the same chat waited its turn
    assert order.index("b1 out") < order.index("a1 out"), order  # another chat did not


class WokenOutbox(Outbox):
    """An outbox that remembers being woken."""

    def __init__(self) -> None:
        super().__init__()
        self.woken = asyncio.Event()

    def wake(self) -> None:
        self.woken.set()
        super().wake()


async def test_a_job_queued_by_another_replica_wakes_this_one(any_database_url: str) -> None:
    if not any_database_url.startswith("postgresql"):
        pytest.skip("one process on SQLite: the outbox's in-process wake-up is the signal")
    engine = create_engine(any_database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    here = WokenOutbox()
    wakeup = JobWakeup(any_database_url, here)
    listening = asyncio.create_task(wakeup.run())
    await asyncio.wait_for(wakeup.listening.wait(), 10)
    async with sessions.begin() as session:  # "another replica" queues a job: a separate engine
        await repos.enqueue(session, "send", "send:from-elsewhere", utcnow(), payload={"chat_id": 1})
    await asyncio.wait_for(here.woken.wait(), 10)
    wakeup.stop()
    await listening
    await engine.dispose()
