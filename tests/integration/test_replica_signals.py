"""PostgreSQL signals between replicas: per-chat turns, and the wake-up when another replica queues a job."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain import utcnow
from bot.jobs.outbox import Outbox
from bot.jobs.wakeup import JobWakeup
from bot.telegram.chat_turns import ChatTurns
from storage import repos
from storage.db import create_engine, create_lock_engine, create_sessionmaker, migrate


async def test_one_chat_at_a_time_across_lock_connections_other_chats_alongside(
    any_database_url: str,
) -> None:
    postgres = any_database_url.startswith("postgresql")
    engines = [create_lock_engine(any_database_url) for _ in range(2)] if postgres else []
    # Two replicas: each its own lock engine (SQLite: one process, one in-process ChatTurns).
    turns = [ChatTurns(engine) for engine in engines] if postgres else [ChatTurns(None)] * 2
    order: list[str] = []
    first_in = asyncio.Event()

    async def handle(replica: int, chat: int, name: str, hold: float) -> None:
        async with turns[replica].hold(chat):
            order.append(f"{name} in")
            first_in.set()
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    first = asyncio.create_task(handle(0, 7_000_000_001, "a1", 0.5))
    await first_in.wait()
    await asyncio.gather(handle(1, 7_000_000_001, "a2", 0), handle(1, 42, "b1", 0), first)
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
