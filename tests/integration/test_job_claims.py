"""Claims across workers: only what runs is claimed, under a token; each chat's messages one at a time."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, update

from bot.domain import MeetingState, utcnow
from bot.jobs.outbox import CARDS, SEND, Outbox, card_key
from bot.jobs.run_locks import RunLocks
from bot.jobs.worker import Done, Job, Lane, Retry, Worker
from storage import repos
from storage.db import create_engine, create_lock_engine, create_sessionmaker, migrate
from storage.models import JobRow
from tests.support import POSTGRES_URL
from tests.support.services import add_order, add_owner_service_and_customer
from tests.support.waiting import lock_waiters

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


async def test_jobs_that_finish_orders_are_claimed_first_yet_never_before_their_chats_older_ones(
    any_database_url: str,
) -> None:
    """A lane's `first` kinds (the Join card's refresh) go before older jobs of other kinds, but a chat's
    messages still go in order: a refresh queued behind a message of its chat waits for it."""
    engine, sessions = await setup(any_database_url)
    await queue(sessions, "send-1", 1)
    await queue(sessions, "send-2", 2)
    async with sessions.begin() as session:
        for key, chat_id in (("cards-1", 1), ("cards-3", 3)):
            await repos.enqueue(session, CARDS, key, utcnow(), order_id=1, payload={"chat_id": chat_id})

    async def claimed(limit: int) -> set[str]:
        async with sessions.begin() as session:
            rows = await repos.claim_jobs(
                session, (SEND, CARDS), utcnow(), LEASE, limit, chat_ordered=(SEND, CARDS), first=(CARDS,)
            )
            return {row.key for row in rows}

    assert await claimed(2) == {"cards-3", "send-1"}, "cards-1 overtook its chat's message, or no priority"
    assert await claimed(10) == {"send-2"}
    await finish(sessions, "send-1")
    assert await claimed(10) == {"cards-1"}
    await engine.dispose()


async def test_an_owner_card_waits_for_its_meeting_unclaimed_and_its_chat_waits_behind_it(
    any_database_url: str,
) -> None:
    """A new order's owner card is queued for the end of its wait for the meeting, not claimed and run in vain
    before; the owner's later messages still wait behind it, and the meeting's arrival sends it at once."""
    engine, sessions = await setup(any_database_url)
    outbox = Outbox(owner_settle=timedelta(seconds=30))
    async with sessions.begin() as session:
        service = await add_owner_service_and_customer(session, 7, 8, utcnow())
        order = await add_order(session, service, 8, utcnow() + timedelta(days=1), "o", "new")
        order.wants_meeting, order.meeting_state = True, MeetingState.PENDING
        await session.flush()
        await outbox.send_card(session, order.id, 7, "owner")
        await outbox.send_card(session, order.id, 8, "customer")
    await queue(sessions, "later-to-the-owner", 7)
    assert await claim(sessions) == [card_key(order.id, 8, "customer")]
    assert await claim(sessions) == [], "the owner's card was claimed before its meeting, or overtaken"
    async with sessions.begin() as session:
        assert await outbox.wake_card(session, order.id, 7, "owner")
    assert await claim(sessions) == [card_key(order.id, 7, "owner")]
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


async def test_a_message_in_a_flood_wait_holds_back_the_later_ones_of_its_chat(any_database_url: str) -> None:
    """A flood wait spends no attempt, but the job stays first in its chat's line."""
    engine, sessions = await setup(any_database_url)
    await queue(sessions, "first", 5)
    await queue(sessions, "second", 5)

    async def flooded(job: Job) -> Retry:
        return Retry("Telegram flood control", at=utcnow() + timedelta(minutes=1))

    lane = Lane("t", (SEND,), 1, chat_ordered=(SEND,))
    worker = Worker(sessions, Outbox(), {SEND: flooded}, [lane])
    assert await worker.run_due(lane) == 1
    async with sessions() as session:
        first = (await session.scalars(select(JobRow).where(JobRow.key == "first"))).one()
    assert (first.status, first.attempts) == ("pending", 0)
    assert await claim(sessions) == [], "the second message overtook the first, waiting out a flood limit"
    await engine.dispose()


async def test_a_job_queued_again_while_its_run_is_recorded_runs_again(any_database_url: str) -> None:
    """A wake-up (enqueue) racing the worker recording the job's run as done: the wake-up wins."""
    if not any_database_url.startswith("postgresql"):
        return  # SQLite: one writer at a time, the interleaving cannot happen
    engine, sessions = await setup(any_database_url)
    await queue(sessions, "cards", 5)
    assert await claim(sessions) == ["cards"]  # running: attempts 1

    async def record_done() -> None:  # what the worker writes when the run ends, unless queued again
        async with sessions.begin() as recording:
            await recording.execute(
                update(JobRow)
                .where(JobRow.key == "cards", JobRow.attempts == 1, JobRow.status == "pending")
                .values(status="done")
            )

    async with sessions() as waking:
        await repos.enqueue(waking, SEND, "cards", utcnow(), payload={"chat_id": 5, "text": "again"})
        recorded = asyncio.create_task(record_done())
        await lock_waiters(any_database_url)  # the record waits on the job's row before the wake-up commits
        await waking.commit()
    await recorded
    async with sessions() as session:
        row = (await session.scalars(select(JobRow).where(JobRow.key == "cards"))).one()
    await engine.dispose()
    assert row.status == "pending", "the wake-up was lost: the job stays done"


async def test_a_refresh_queued_while_a_job_is_being_recorded_is_not_lost(tmp_path: Path) -> None:
    """A re-queue committed while a job's outcome is being written (repos.enqueue: status pending,
    attempts 0) must win, or the requested run never happens.

    Seen in the soak test: order #3's "cards" job ended `done` with attempts 0 and the customer's card
    never got its Join link (the owner's did). Here the interleaving is made certain: just before
    `_record` writes, another connection re-queues the job, as `announce()` → `refresh_cards` does.
    """
    path = tmp_path / "bot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    outbox = Outbox()
    async with sessions.begin() as session:
        await repos.enqueue(session, "cards", "cards:1", utcnow(), order_id=1)
    recording = False

    async def runner(job: Job) -> Done:
        nonlocal recording
        recording = True  # the next read of the jobs table is `_record`'s
        return Done()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def requeue_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal recording
        if recording and statement.lstrip().upper().startswith("UPDATE JOBS"):
            recording = False
            with closing(sqlite3.connect(path, timeout=30)) as other:
                other.execute("UPDATE jobs SET status='pending', attempts=0 WHERE key='cards:1'")
                other.commit()

    worker = Worker(sessions, outbox, {"cards": runner}, [Lane("telegram", ("cards",), 1)])
    assert await worker.run_due(Lane("telegram", ("cards",), 1)) == 1
    async with sessions() as session:
        row = (await session.scalars(select(JobRow).where(JobRow.key == "cards:1"))).one()
    await engine.dispose()
    assert (row.status, row.attempts) == ("pending", 0), (
        f"the re-queued job was recorded as {row.status!r} (attempts {row.attempts}): its run is lost"
    )


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
