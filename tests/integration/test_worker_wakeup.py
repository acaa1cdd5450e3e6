"""The worker of this process is woken the moment a queued job is committed (not before, not a poll later)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from bot.domain import utcnow
from bot.jobs.outbox import SEND, Outbox
from bot.jobs.worker import Done, Job, Lane, Retry, Worker
from bot.services.meetings import SYNC
from storage import repos
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


class WakeSpy(Outbox):
    """An outbox that records which job kinds it was asked to wake the waiters of."""

    def __init__(self) -> None:
        super().__init__()
        self.woken: list[frozenset[str]] = []

    def wake_kinds(self, kinds: Iterable[str]) -> None:
        self.woken.append(frozenset(kinds))
        super().wake_kinds(kinds)


def _set(event: asyncio.Event, _task: object) -> None:
    event.set()


async def test_a_finished_job_wakes_its_lane_only_when_the_lane_may_have_left_work_behind(
    any_database_url: str,
) -> None:
    """A lane looks again when a run ends only if that may find work the run held back: its slots were full,
    or it keeps chats in order (the chat's next message). Else the look would find nothing (a statement)."""
    async with migrated_sessions(any_database_url) as sessions:
        outbox = WakeSpy()
        ran: dict[str, asyncio.Event] = {SEND: asyncio.Event(), SYNC: asyncio.Event()}
        job_tasks: dict[str, asyncio.Task[Any]] = {}

        def lane_waits(kind: str) -> bool:
            """The lane of `kind` waits for a wake-up (no look of its under way)."""
            waiting = outbox.listen((kind,))
            return not waiting.is_set() and bool(getattr(waiting, "_waiters", None))

        async def run(job: Job) -> Done:
            # What came before the run is the queuing's wake-up, which may even come after the run began (on
            # PostgreSQL the worker's first look can claim the job between the commit and the queuer's
            # after-commit hook), and the look it causes: a run that ends during a look counts as maybe
            # leaving work behind (the look counted its free slots before). Once both are over, forget them.
            await eventually_async(lambda: frozenset({job.kind}) in outbox.woken, 5, "the queuing's wake-up")
            await eventually_async(lambda: lane_waits(job.kind), 5, "the lane waiting again")
            outbox.woken.clear()
            job_tasks[job.kind] = asyncio.current_task()  # type: ignore[assignment]  # the job's own task
            ran[job.kind].set()
            return Done()

        lanes = [
            Lane("zoom", (SYNC,), concurrency=4),
            Lane("telegram", (SEND,), concurrency=4, chat_ordered=(SEND,)),
        ]
        worker = Worker(sessions, outbox, {SEND: run, SYNC: run}, lanes, poll_interval=LONG_POLL)
        running = asyncio.create_task(worker.run())
        for kind, lane in ((SYNC, lanes[0]), (SEND, lanes[1])):
            async with sessions.begin() as session:
                await repos.enqueue(session, kind, f"{kind}:1", utcnow(), payload={"chat_id": 5})
                outbox.wake_on_commit(session, kind)
            await asyncio.wait_for(ran[kind].wait(), 10)
            # A callback added now runs after the lane's own, which the lane added when it made the task
            # (callbacks run in the order they were added, also for a task that has ended already).
            after_lanes = asyncio.Event()
            job_tasks[kind].add_done_callback(functools.partial(_set, after_lanes))
            await after_lanes.wait()
            woken = [kinds for kinds in outbox.woken if kinds == frozenset(lane.kinds)]
            assert bool(woken) == bool(lane.chat_ordered), (lane.name, outbox.woken)
        worker.stop()
        await running


async def test_a_job_queued_again_while_it_ran_runs_again_at_once(any_database_url: str) -> None:
    """Queued again during its run, a job is left due once its lease is freed: its lane looks for it then,
    though its slots were not full (the look made when it was queued found it leased)."""
    async with migrated_sessions(any_database_url) as sessions:
        outbox = Outbox()
        runs: list[int] = []
        twice = asyncio.Event()

        async def run(job: Job) -> Done:
            runs.append(job.id)
            if len(runs) == 1:
                async with sessions.begin() as session:  # e.g. the order changed while its meeting was synced
                    await repos.enqueue(session, SYNC, job.key, utcnow())
                    outbox.wake_on_commit(session, SYNC)
            else:
                twice.set()
            return Done()

        lane = Lane("zoom", (SYNC,), concurrency=4)
        worker = Worker(sessions, outbox, {SYNC: run}, [lane], poll_interval=LONG_POLL)
        async with sessions.begin() as session:
            await repos.enqueue(session, SYNC, "meeting:1", utcnow())
        running = asyncio.create_task(worker.run())
        await asyncio.wait_for(twice.wait(), 10)
        worker.stop()
        await running
    assert len(runs) == 2
