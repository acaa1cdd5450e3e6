"""The job worker: claims due jobs from the database, runs them, and records the outcome.

Jobs run in lanes: Zoom work in parallel, Telegram messages one after another so each chat reads them
in order. A job that fails is retried with exponential backoff and jitter, capped, for as long as the
trouble lasts; one that waits for something (a reconnect) sleeps until woken.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import utcnow
from bot.jobs.outbox import Outbox
from bot.jobs.run_locks import RunLocks
from bot.logs import log_context
from storage import repos
from storage.direct import Transaction, direct

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)
BACKOFF_BASE = 2.0
BACKOFF_CAP = 600.0
MAX_ATTEMPTS = 25


@dataclass(frozen=True)
class Done:
    pass


@dataclass(frozen=True)
class Retry:
    """Run the job again: at `at` when the other side said when (a flood wait; it spends no attempt), or
    after an exponential backoff. Transient errors are retried for as long as they last."""

    error: str
    at: datetime | None = None  # None: exponential backoff


@dataclass(frozen=True)
class Wait:
    """Hold the job until something wakes it (e.g. the owner reconnects Zoom)."""

    error: str


@dataclass(frozen=True)
class Fail:
    """Give the job up; `told` when the runner has already told the owner (e.g. why Zoom refused)."""

    error: str
    told: bool = False


@dataclass(frozen=True)
class Crash:
    """The runner raised: retried with backoff, and given up after the worker's `max_attempts`."""

    error: str


Outcome = Done | Retry | Wait | Fail | Crash


Write = Callable[[AsyncSession], Awaitable[None]]
DirectWrite = Callable[[Transaction], Awaitable[None]]  # storage.prepared's statements alone


@dataclass
class Job:
    """A claimed job as its runner sees it. `save_progress` records finished steps at once; steps set in
    `progress` without it are recorded with the outcome, and so are the writes of `write_with_outcome`."""

    id: int
    kind: str
    key: str
    order_id: int | None
    owner_id: int | None
    payload: dict[str, Any]
    progress: dict[str, Any]
    attempts: int
    _saver: Callable[[Job], Awaitable[None]] = field(repr=False)
    lease_token: str = field(default="", repr=False)
    writes: list[Write] = field(default_factory=list, repr=False)
    direct_writes: list[DirectWrite] = field(default_factory=list, repr=False)

    async def save_progress(self, **steps: Any) -> None:
        self.progress.update(steps)
        await self._saver(self)

    def write_with_outcome(self, write: Write) -> None:
        """Run `write` in the transaction that records the job's outcome (whatever the outcome, and also when
        the job was queued again meanwhile): what the run did outside the database (a message sent) is
        recorded with it in one commit. A crash before that commit runs the job again, as for its outcome."""
        self.writes.append(write)

    def write_directly_with_outcome(self, write: DirectWrite) -> None:
        """`write_with_outcome` for a write of storage.prepared's statements alone: unless another write
        needs a session, the outcome is then recorded in a direct transaction (storage.direct)."""
        self.direct_writes.append(write)


Runner = Callable[[Job], Awaitable[Outcome]]
GiveUpHook = Callable[[Job, str], Awaitable[None]]  # a job was given up, with this error


def backoff(attempts: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> timedelta:
    """The wait before the next attempt: `base` doubled per earlier attempt, at most `cap`, +-20 %."""
    delay = min(cap, base * 2 ** min(64, max(0, attempts - 1)))
    return timedelta(seconds=delay * secrets.SystemRandom().uniform(0.8, 1.2))


@dataclass(frozen=True)
class Lane:
    """Job kinds run side by side up to `concurrency`; kinds in `chat_ordered` one at a time per chat; due
    jobs of the kinds in `first` (those that finish orders) are claimed before the others."""

    name: str
    kinds: tuple[str, ...]
    concurrency: int
    chat_ordered: tuple[str, ...] = ()
    first: tuple[str, ...] = ()


class Worker:
    """Runs jobs until stopped.

    A claim leases a job to this worker under a fresh token, and only as many jobs are claimed as there
    are free slots, so a claimed job starts at once and its heartbeat keeps the lease while it runs.
    The heartbeat and the outcome are written only while the lease still carries the claim's token:
    after a takeover (this worker stalled past its lease) the job belongs to the other worker.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        runners: dict[str, Runner],
        lanes: list[Lane],
        poll_interval: float = 1.0,
        lease: timedelta = LEASE,
        run_locks: RunLocks | None = None,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        max_attempts: int = MAX_ATTEMPTS,
        on_give_up: GiveUpHook | None = None,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._runners = runners
        self._lanes = lanes
        self._poll = poll_interval
        self._lease = lease
        self._run_locks = run_locks or RunLocks(None)
        self._backoff = (backoff_base, backoff_cap)
        self._max_attempts = max_attempts
        self._on_give_up = on_give_up
        self._stopping = asyncio.Event()
        self.last_cycle: float | None = None  # time.monotonic() of the last look for due jobs

    async def run(self) -> None:
        await asyncio.gather(*(self._run_lane(lane) for lane in self._lanes))

    def stop(self) -> None:
        self._stopping.set()
        self._outbox.wake()

    async def _run_lane(self, lane: Lane) -> None:
        running: set[asyncio.Task[None]] = set()
        full = [False]  # whether the last look left due jobs behind for want of slots (maybe)
        self._outbox.listen(lane.kinds)  # a job queued during the first claim wakes the first wait
        while not self._stopping.is_set():
            free = lane.concurrency - len(running)
            full[0] = True
            if free > 0:
                try:
                    jobs = await self._claim(lane, free)
                    full[0] = len(jobs) == free
                    self.last_cycle = time.monotonic()
                except Exception:
                    log.exception("The %s lane failed to claim jobs; trying again", lane.name)
                    jobs = []
                for job in jobs:
                    task = asyncio.create_task(self._run_one(job), name=f"job-{job.id}")
                    running.add(task)
                    task.add_done_callback(self._finished(running, lane, full))
            else:
                self.last_cycle = time.monotonic()
            # Every due job this lane may run now was claimed (or its slots are full). What can run next
            # comes with a wake-up (a job queued for this lane, or one of its runs ending, which frees
            # a slot and the chat's next message) or with the regular look.
            await self._outbox.wait(self._poll, lane.kinds)
        if running:
            await asyncio.wait(running)

    def _finished(
        self, running: set[asyncio.Task[None]], lane: Lane, full: list[bool]
    ) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            running.discard(task)
            # The lane looks again if that may find something the run held back: a job left for want of a
            # slot, or the chat's next message. Else the look would find nothing; what is queued meanwhile
            # wakes the lane itself.
            if full[0] or lane.chat_ordered:
                self._outbox.wake_kinds(lane.kinds)

        return done

    async def run_due(self, lane: Lane) -> int:
        """Claim what the lane can run now, run it, and wait for it (one pass, for tests and tools)."""
        jobs = await self._claim(lane, lane.concurrency)
        await asyncio.gather(*(self._run_one(job) for job in jobs))
        return len(jobs)

    async def _claim(self, lane: Lane, limit: int) -> list[Job]:
        async with direct(self._sessions) as transaction:
            rows = await repos.claim_jobs(
                transaction,
                lane.kinds,
                utcnow(),
                self._lease,
                limit=limit,
                chat_ordered=lane.chat_ordered,
                first=lane.first,
            )
            return [self._job(row) for row in rows]

    def _job(self, row: Any) -> Job:
        return Job(
            id=row.id,
            kind=row.kind,
            key=row.key,
            order_id=row.order_id,
            owner_id=row.owner_id,
            payload=dict(row.payload or {}),
            progress=dict(row.progress or {}),
            attempts=row.attempts,
            _saver=self._save_progress,
            lease_token=row.lease_token or "",
        )

    async def _save_progress(self, job: Job) -> None:
        async with direct(self._sessions) as transaction:
            await repos.save_job_progress(transaction, job.id, job.lease_token, dict(job.progress), utcnow())

    async def _run_one(self, job: Job) -> None:
        with log_context(job_id=job.id, order_id=job.order_id):
            try:
                async with self._run_locks.hold(job.id) as mine:
                    if mine:
                        await self._run_held(job)
                    else:
                        log.warning("Job %s still runs in a stalled worker; leaving it to that one", job.id)
            except Exception:
                log.exception("Job %s (%s) could not be run", job.id, job.kind)

    async def _run_held(self, job: Job) -> None:
        runner = self._runners.get(job.kind)
        heartbeat = asyncio.create_task(self._keep_lease(job))
        try:
            outcome: Outcome = await runner(job) if runner else Fail(f"no runner for {job.kind}")
        except Exception as exc:
            log.exception("Job %s (%s) crashed", job.id, job.kind)
            outcome = Crash(f"{type(exc).__name__}")
        finally:
            heartbeat.cancel()
        await self._record(job, outcome)

    async def _keep_lease(self, job: Job) -> None:
        """Extend the lease while the job runs, so a short lease only expires when the worker is gone."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                async with direct(self._sessions) as transaction:
                    kept = await repos.extend_lease(
                        transaction, job.id, job.lease_token, utcnow() + self._lease
                    )
                if not kept:
                    log.warning("Job %s: its lease was taken over; its outcome will not be recorded", job.id)
                    return
            except Exception:
                log.warning("Could not extend the lease of job %s", job.id, exc_info=True)

    async def _record(self, job: Job, outcome: Outcome) -> None:
        """Write the outcome, unless the job was queued again while it ran: then it simply runs again."""
        now = utcnow()
        values: dict[str, Any] = {
            "locked_until": None,
            "lease_token": None,
            "updated_at": now,
            "progress": dict(job.progress),
        }
        gives_up = isinstance(outcome, Fail) or (
            isinstance(outcome, Crash) and job.attempts >= self._max_attempts
        )
        if isinstance(outcome, Done):
            values.update(status="done", last_error=None)
        elif isinstance(outcome, Wait):
            values.update(status="waiting", last_error=outcome.error)
        elif gives_up:
            values.update(status="failed", last_error=outcome.error)
            log.warning("Job %s (%s) failed for good: %s", job.id, job.kind, outcome.error)
        elif isinstance(outcome, Retry) and outcome.at is not None:
            # The other side named the time (a flood wait): waiting for it is no failed attempt.
            values.update(status="pending", last_error=outcome.error, run_at=outcome.at)
            values["attempts"] = job.attempts - 1
        else:
            # Transient trouble is retried for as long as it lasts, at most `backoff_cap` apart.
            retry_at = now + backoff(job.attempts, *self._backoff)
            values.update(status="pending", last_error=outcome.error, run_at=retry_at)
        # Not recorded when the job was queued again meanwhile: it runs again, with this run's progress kept,
        # as `save_progress` would have kept it. The run's own writes of ORM entities or jobs need a session.
        if job.writes:
            async with self._sessions.begin() as session:
                recorded = await self._record_in(session, job, values)
        else:
            async with direct(self._sessions) as transaction:
                recorded = await self._record_in(transaction, job, values)
        if not recorded:
            # Queued again while it ran: it is due now that its lease is free, and its lane's look when it was
            # queued found it leased.
            self._outbox.wake_kinds((job.kind,))
        if recorded and isinstance(outcome, Retry) and outcome.at is not None:
            # The time is known: its lane looks for the job then, not at the next poll (up to `poll_interval`
            # later); the other lanes would look in vain.
            delay = (outcome.at - utcnow()).total_seconds()
            if delay > 0:
                asyncio.get_running_loop().call_later(delay, self._outbox.wake_kinds, (job.kind,))
        if recorded and isinstance(outcome, Fail | Crash) and gives_up:
            if not (isinstance(outcome, Fail) and outcome.told):
                await self._tell_give_up(job, outcome.error)

    @staticmethod
    async def _record_in(transaction: Transaction, job: Job, values: dict[str, Any]) -> bool:
        if isinstance(transaction, AsyncSession):
            for write in job.writes:
                await write(transaction)
        for direct_write in job.direct_writes:
            await direct_write(transaction)
        return await repos.record_outcome(transaction, job.id, job.lease_token, job.attempts, values)

    async def _tell_give_up(self, job: Job, error: str) -> None:
        if self._on_give_up is None:
            return
        try:
            await self._on_give_up(job, error)
        except Exception:
            log.exception("Could not tell that job %s (%s) was given up", job.id, job.kind)
