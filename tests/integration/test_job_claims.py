"""Claims across workers: only what runs is claimed, under a token; each chat's messages one at a time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.domain import utcnow
from bot.jobs.outbox import SEND, Outbox
from bot.jobs.run_locks import RunLocks
from bot.jobs.worker import Done, Job, Lane, Worker
from storage import repos
from storage.db import create_engine, create_lock_engine, create_sessionmaker, migrate
from storage.models import JobRow
from tests.support import POSTGRES_URL

LEASE = timedelta(seconds=30)


async def setup(url: str):
    engine = create_engine(url)
    await migrate(engine)
    return engine, create_sessionmaker(engine)


async def queue(sessions, key: str, chat_id: int, delay: timedelta = timedelta(0)) -> None:
    async with sessions.begin() as session:
        await repos.enqueue(
            session, SEND, key, utcnow(), payload={"chat_id": chat_id, "text": key}, delay=delay
        )


async def claim(sessions, limit: int = 10) -> list[str]:
    async with sessions.begin() as session:
        rows = await repos.claim_jobs(session, (SEND,), utcnow(), LEASE, limit, chat_ordered=(SEND,))
        return [row.key for row in rows]


async def finish(sessions, key: str) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(JobRow).where(JobRow.key == key).values(status="done", locked_until=None)
        )


async def test_one_message_at_a_time_per_chat_in_order_other_chats_go_on(
    any_database_url: str,
) -> None:
    engine, sessions = await setup(any_database_url)
    big = 7_000_000_001  # a 64-bit chat id
    await queue(sessions, "later-reminder", big, delay=timedelta(days=1))  # older, but not due
    for key in ("a1", "a2", "a3"):
        await queue(sessions, key, big)
    await queue(sessions, "b1", 42)
    assert await claim(sessions, limit=1) == ["a1"]
    assert await claim(sessions) == ["b1"], "a2 went out while a1 was still being sent"
    assert await claim(sessions) == []
    await finish(sessions, "a1")
    assert await claim(sessions) == ["a2"]
    await finish(sessions, "a2")
    assert await claim(sessions) == ["a3"]
    await engine.dispose()


async def test_a_message_being_retried_holds_back_the_later_ones_of_its_chat(any_database_url: str) -> None:
    engine, sessions = await setup(any_database_url)
    await queue(sessions, "first", 5)
    await queue(sessions, "second", 5)
    assert await claim(sessions) == ["first"]
    async with sessions.begin() as session:  # Telegram said "retry after": back to pending, due later
        await session.execute(
            update(JobRow)
            .where(JobRow.key == "first")
            .values(locked_until=None, run_at=utcnow() + timedelta(minutes=1))
        )
    assert await claim(sessions) == [], "the second message overtook the first"
    await engine.dispose()


async def test_no_outcome_recorded_by_a_worker_whose_lease_was_taken_over(
    any_database_url: str,
) -> None:
    engine, sessions = await setup(any_database_url)
    async with sessions.begin() as session:
        await repos.enqueue(session, "cards", "cards:1", utcnow(), order_id=1)
    stalled: list[Job] = []

    async def runner(job: Job) -> Done:
        stalled.append(job)
        # Meanwhile the lease ran out and another worker claimed the job (a fresh token).
        async with sessions.begin() as session:
            await session.execute(update(JobRow).values(locked_until=utcnow() - timedelta(seconds=1)))
            taken = await repos.claim_jobs(session, ("cards",), utcnow(), LEASE, 1)
        assert [row.id for row in taken] == [job.id]
        return Done()

    worker = Worker(sessions, Outbox(), {"cards": runner}, [Lane("t", ("cards",), 1)])
    assert await worker.run_due(Lane("t", ("cards",), 1)) == 1
    async with sessions() as session:
        row = (await session.scalars(select(JobRow))).one()
    await engine.dispose()
    assert (
        row.status == "pending" and row.locked_until is not None and row.lease_token != stalled[0].lease_token
    )


async def test_a_job_whose_runner_still_holds_it_is_not_taken_over(any_database_url: str) -> None:
    """On PostgreSQL a stalled runner (lease run out, process alive) keeps its job and its chat's turn."""
    if not any_database_url.startswith("postgresql"):
        return  # one process on SQLite: no other runner to stall
    engine, sessions = await setup(any_database_url)
    await queue(sessions, "stalled", 9)
    await queue(sessions, "next", 9)
    assert await claim(sessions) == ["stalled"]
    lock_engine = create_lock_engine(any_database_url)
    locks = RunLocks(lock_engine)
    async with sessions() as session:
        job_id = (await session.scalars(select(JobRow.id).where(JobRow.key == "stalled"))).one()
    async with locks.hold(job_id) as mine:
        assert mine
        async with sessions.begin() as session:
            await session.execute(update(JobRow).values(locked_until=utcnow() - timedelta(seconds=1)))
        assert await claim(sessions) == [], "a running job was taken over, or its chat's next message sent"
    assert await claim(sessions, limit=1) == ["stalled"]  # its runner is gone: now it is taken over
    await lock_engine.dispose()
    await engine.dispose()


async def test_a_run_lock_in_another_database_does_not_hold_this_ones_job(any_database_url: str) -> None:
    """Advisory locks are per database: another bot's database on the same server blocks nothing here."""
    if not any_database_url.startswith("postgresql"):
        return
    engine, sessions = await setup(any_database_url)
    await queue(sessions, "mine", 3)
    async with sessions() as session:
        job_id = (await session.scalars(select(JobRow.id).where(JobRow.key == "mine"))).one()
    other = create_lock_engine(POSTGRES_URL)  # the server's other database
    async with RunLocks(other).hold(job_id) as taken:
        assert taken
        assert await claim(sessions) == ["mine"]
    await other.dispose()
    await engine.dispose()
