"""The worker of this process is woken the moment a queued job is committed (not before, not a poll later)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain import utcnow
from bot.jobs.outbox import SEND, Outbox
from bot.jobs.worker import Done, Job, Lane, Retry, Worker
from bot.services.meetings import SYNC
from tests.support.databases import migrated_sessions
from tests.support.waiting import eventually_async

LONG_POLL = 60.0  # the worker's own look for due jobs: far longer than any wait below


async def test_a_queued_message_wakes_the_worker_once_it_is_committed(any_database_url: str) -> None:
    async with migrated_sessions(any_database_url) as sessions:
        outbox = Outbox()
        async with sessions() as session:
            async with session.begin():
                await outbox.send_card(session, 1, 5, "owner")
                await session.rollback()  # nothing was queued after all
            assert not outbox.wake_pending, "woken for a message that was never queued"
            async with session.begin():
                await outbox.send_card(session, 1, 5, "owner")
                assert not outbox.wake_pending, (
                    "the worker was woken while the message could not be claimed yet"
                )
            assert outbox.wake_pending


async def test_a_message_goes_out_at_once_though_the_worker_polls_rarely(any_database_url: str) -> None:
    async with migrated_sessions(any_database_url) as sessions:
        outbox = Outbox()
        sent = asyncio.Event()

        async def deliver(job: Job) -> Done:
            sent.set()
            return Done()

        lane = Lane("telegram", (SEND,), concurrency=1, chat_ordered=(SEND,))
        worker = Worker(
            sessions, outbox, {SEND: deliver}, [lane], poll_interval=LONG_POLL, lease=timedelta(seconds=30)
        )
        running = asyncio.create_task(worker.run())
        # The worker looked once and now waits.
        await eventually_async(lambda: worker.last_cycle is not None, 10, "the worker's first look")
        looked = worker.last_cycle
        async with sessions.begin() as session:
            await outbox.send_card(session, 1, 5, "owner")
            if (
                outbox.wake_pending
            ):  # woken before the commit: the worker's look comes while the job is unseen
                await eventually_async(lambda: worker.last_cycle != looked, 10, "the worker looking again")
        await asyncio.wait_for(sent.wait(), 10)
        worker.stop()
        await running


async def test_a_job_retried_at_a_known_time_wakes_only_its_own_lane_then(any_database_url: str) -> None:
    """A flood wait names the time: the job's lane looks for it then, and no other lane looks in vain."""
    async with migrated_sessions(any_database_url) as sessions:
        outbox = Outbox()
        runs: list[Job] = []
        again = asyncio.Event()

        async def deliver(job: Job) -> Done | Retry:
            runs.append(job)
            if len(runs) == 1:
                return Retry("Telegram flood control", at=utcnow() + timedelta(seconds=0.3))
            again.set()
            return Done()

        lane = Lane("telegram", (SEND,), concurrency=1, chat_ordered=(SEND,))
        worker = Worker(
            sessions, outbox, {SEND: deliver}, [lane], poll_interval=LONG_POLL, lease=timedelta(seconds=30)
        )
        zoom = outbox.listen((SYNC,))  # the wake-up of a lane that runs other kinds
        async with sessions.begin() as session:
            await outbox.send_card(session, 1, 5, "owner")
        running = asyncio.create_task(worker.run())
        await asyncio.wait_for(again.wait(), 10)
        woken_in_vain = zoom.is_set()
        worker.stop()
        await running
    assert len(runs) == 2
    assert not woken_in_vain, "the flood wait's end woke a lane that runs none of its kinds"
