"""The worker of this process is woken the moment a queued job is committed (not before, not a poll later)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.jobs.outbox import SEND, Outbox
from bot.jobs.worker import Done, Job, Lane, Worker
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
