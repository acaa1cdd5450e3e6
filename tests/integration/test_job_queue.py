"""Queuing a job: one live job per key, revived in place, and the other replicas told once it commits."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, select, update

from bot.domain import utcnow
from bot.jobs.wakeup import asyncpg_dsn
from storage import prepared, repos
from storage.models import JobRow
from tests.support.databases import migrated_sessions
from tests.support.services import add_order, add_owner_service_and_customer


async def test_queuing_a_key_again_revives_its_job_and_keeps_its_progress(any_database_url: str) -> None:
    async with migrated_sessions(any_database_url) as sessions:
        now = utcnow()
        async with sessions.begin() as session:
            await repos.enqueue(session, "sync", "meeting:7", now, order_id=7, owner_id=3, payload={"v": 1})
        async with sessions.begin() as session:  # it ran, failed twice and recorded how far it got
            await session.execute(
                update(JobRow).values(status="failed", attempts=2, progress={"created": 99}, last_error="x")
            )
        later = now + timedelta(minutes=5)
        async with sessions.begin() as session:
            await repos.enqueue(session, "sync", "meeting:7", later, delay=timedelta(seconds=30))
            await repos.enqueue(session, "send", "card:7:3:owner", later, order_id=7, payload={"chat_id": 3})
        async with sessions() as session:
            rows = {row.key: row for row in await session.scalars(select(JobRow))}
    again = rows["meeting:7"]
    assert len(rows) == 2
    assert (again.status, again.attempts, again.progress, again.payload) == (
        "pending",
        0,
        {"created": 99},
        {"v": 1},
    )
    assert again.run_at == later + timedelta(seconds=30) and again.order_id == 7 and again.owner_id == 3
    card = rows["card:7:3:owner"]
    assert (card.kind, card.status, card.payload, card.run_at) == ("send", "pending", {"chat_id": 3}, later)


# PostgreSQL only: replicas are told through LISTEN/NOTIFY there; SQLite serves one process, whose in-process
# wake on commit tests/integration/test_worker_wakeup.py covers on both databases.
@pytest.mark.parametrize("any_database_url", ["postgresql"], indirect=True)
async def test_every_transaction_that_queues_jobs_tells_the_other_replicas(any_database_url: str) -> None:
    async with migrated_sessions(any_database_url) as sessions:
        heard: asyncio.Queue[str] = asyncio.Queue()
        listener = await asyncpg.connect(asyncpg_dsn(any_database_url))
        await listener.add_listener(repos.JOBS_CHANNEL, lambda *args: heard.put_nowait(args[2]))
        async with sessions() as session:  # one session, two transactions of several jobs each
            for round_ in range(2):
                async with session.begin():
                    for n in range(3):
                        await repos.enqueue(session, "send", f"send:{round_}:{n}", utcnow(), payload={})
                await asyncio.wait_for(heard.get(), 10)
        await listener.close()


async def test_several_jobs_queued_at_once_each_behave_as_queued_alone(any_database_url: str) -> None:
    async with migrated_sessions(any_database_url) as sessions:
        now = utcnow()
        async with sessions.begin() as session:
            await repos.enqueue(session, "reminder", "r:old", now, order_id=4, payload={"minutes": 60})
            await session.execute(update(JobRow).values(status="done", progress={"sent": True}))
        async with sessions.begin() as session:
            jobs = [
                ("r:old", timedelta(hours=1), {"minutes": 60, "chat_id": 1}),
                ("r:new", timedelta(hours=2), {"minutes": 15, "chat_id": 2}),
            ]
            await repos.enqueue_many(session, "reminder", now, jobs, order_id=4)
        async with sessions() as session:
            rows = {row.key: row for row in await session.scalars(select(JobRow))}
    old, new = rows["r:old"], rows["r:new"]
    assert (old.status, old.progress, old.payload) == (
        "pending",
        {"sent": True},
        {"minutes": 60, "chat_id": 1},
    )
    assert old.run_at == now + timedelta(hours=1) and old.order_id == 4
    assert (new.status, new.payload, new.run_at, new.order_id) == (
        "pending",
        {"minutes": 15, "chat_id": 2},
        now + timedelta(hours=2),
        4,
    )


async def test_the_upserts_of_an_order_are_compiled_once(any_database_url: str) -> None:
    """A dialect's INSERT … ON CONFLICT has no cache key of its own: the prebuilt ones are compiled on their
    first run only (each compile cost more CPU than the database's work), by SQLAlchemy (its cache) or, run
    straight on SQLite's connection, by storage.prepared."""
    runs: list[tuple[str, Any]] = []
    compiled: list[int] = []

    def seen(_conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        if statement.startswith("INSERT"):
            hit = context.cache_hit if context is not None else "prepared"
            runs.append((statement.split("(")[0].split()[-1], hit))

    async with migrated_sessions(any_database_url) as sessions:
        engine = sessions.kw["bind"].sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        now = utcnow()
        async with sessions.begin() as session:
            service = await add_owner_service_and_customer(session, 1, 2, now)
            order_id = (await add_order(session, service, 2, now + timedelta(days=1), "o", "new")).id
        runs.clear()
        for turn in range(2):
            async with sessions.begin() as session:
                await repos.save_person(session, 10 + turn, "Ann", None, now)
                await repos.enqueue(session, "sync", f"meeting:{turn}", now, order_id=1, payload={"v": turn})
                await repos.enqueue(session, "sync", f"meeting:{turn}", now)  # woken, payload kept
                jobs = [(f"r:{turn}:{n}", timedelta(hours=n), {"chat_id": n}) for n in (1, 2)]
                await repos.enqueue_many(session, "reminder", now, jobs, order_id=1)
                await repos.store_updates(session, [(turn * 2, 1, {}), (turn * 2 + 1, 1, {})], now)
                await repos.add_order_message(session, order_id, 2, turn, "customer")
            compiled.append(len(prepared._COMPILED))
    first, second = runs[: len(runs) // 2], runs[len(runs) // 2 :]
    assert [table for table, _ in first] == [table for table, _ in second]
    assert {table for table, _ in first} == {"persons", "jobs", "received_updates", "order_messages"}
    by_sqlalchemy = [hit for _, hit in second if hit != "prepared"]
    assert by_sqlalchemy == [engine.dialect.CACHE_HIT] * len(by_sqlalchemy)
    assert compiled[0] == compiled[1]  # storage.prepared compiled nothing on the second turn
