"""The job worker: claims due jobs from the database, runs them, and records the outcome.

Jobs run in lanes: Zoom work in parallel, Telegram messages one after another so each chat reads them
in order. A job that fails is retried with exponential backoff and jitter; one that waits for
something (a reconnect) sleeps until woken.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import utcnow
from bot.services.outbox import Outbox
from storage import repos
from storage.models import JobRow

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
    error: str
    at: datetime | None = None  # None: exponential backoff


@dataclass(frozen=True)
class Wait:
    """Hold the job until something wakes it (e.g. the owner reconnects Zoom)."""

    error: str


@dataclass(frozen=True)
class Fail:
    error: str


Outcome = Done | Retry | Wait | Fail


@dataclass
class Job:
    """A claimed job as its runner sees it. `save_progress` records finished steps at once."""

    id: int
    kind: str
    key: str
    order_id: int | None
    owner_id: int | None
    payload: dict[str, Any]
    progress: dict[str, Any]
    attempts: int
    _saver: Callable[[Job], Awaitable[None]] = field(repr=False)

    async def save_progress(self, **steps: Any) -> None:
        self.progress.update(steps)
        await self._saver(self)


Runner = Callable[[Job], Awaitable[Outcome]]


def backoff(attempts: int) -> timedelta:
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * secrets.SystemRandom().uniform(0.8, 1.2))


@dataclass(frozen=True)
class Lane:
    name: str
    kinds: tuple[str, ...]
    concurrency: int


class Worker:
    """Runs jobs until stopped."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        runners: dict[str, Runner],
        lanes: list[Lane],
        poll_interval: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._runners = runners
        self._lanes = lanes
        self._poll = poll_interval
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        await asyncio.gather(*(self._run_lane(lane) for lane in self._lanes))

    def stop(self) -> None:
        self._stopping.set()
        self._outbox.wake()

    async def _run_lane(self, lane: Lane) -> None:
        while not self._stopping.is_set():
            try:
                ran = await self.run_due(lane)
            except Exception:
                log.exception("The %s lane failed to claim jobs; trying again", lane.name)
                ran = 0
            if not ran:
                await self._outbox.wait(self._poll)

    async def run_due(self, lane: Lane) -> int:
        async with self._sessions.begin() as session:
            rows = await repos.claim_jobs(session, lane.kinds, utcnow(), LEASE, limit=lane.concurrency * 2)
            jobs = [self._job(row) for row in rows]
        semaphore = asyncio.Semaphore(lane.concurrency)

        async def guarded(job: Job) -> None:
            async with semaphore:
                await self._run_one(job)

        if lane.concurrency == 1:
            for job in jobs:
                await self._run_one(job)
        else:
            await asyncio.gather(*(guarded(job) for job in jobs))
        return len(jobs)

    async def run_claimed(self, row: JobRow) -> None:
        """Run a job that another dispatcher (e.g. the per-chat delivery) claimed, and record its outcome."""
        await self._run_one(self._job(row))

    def _job(self, row: JobRow) -> Job:
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
        )

    async def _save_progress(self, job: Job) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(JobRow, job.id)
            if row is not None:
                row.progress = dict(job.progress)
                row.updated_at = utcnow()

    async def _run_one(self, job: Job) -> None:
        runner = self._runners.get(job.kind)
        heartbeat = asyncio.create_task(self._keep_lease(job.id))
        try:
            outcome: Outcome = await runner(job) if runner else Fail(f"no runner for {job.kind}")
        except Exception as exc:
            log.exception("Job %s (%s) crashed", job.id, job.kind)
            outcome = Retry(f"{type(exc).__name__}")
        finally:
            heartbeat.cancel()
        await self._record(job, outcome)

    async def _keep_lease(self, job_id: int) -> None:
        """Extend the lease while the job runs, so a short lease only expires when the worker is gone."""
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 3)
            try:
                async with self._sessions.begin() as session:
                    row = await session.get(JobRow, job_id)
                    if row is not None and row.locked_until is not None:
                        row.locked_until = utcnow() + LEASE
            except Exception:
                log.warning("Could not extend the lease of job %s", job_id, exc_info=True)

    async def _record(self, job: Job, outcome: Outcome) -> None:
        """Write the outcome, unless the job was queued again while it ran: then it simply runs again."""
        now = utcnow()
        values: dict[str, Any] = {"locked_until": None, "updated_at": now, "progress": dict(job.progress)}
        if isinstance(outcome, Done):
            values.update(status="done", last_error=None)
        elif isinstance(outcome, Wait):
            values.update(status="waiting", last_error=outcome.error)
        elif isinstance(outcome, Fail) or job.attempts >= MAX_ATTEMPTS:
            values.update(status="failed", last_error=outcome.error)
            log.warning("Job %s (%s) failed for good: %s", job.id, job.kind, outcome.error)
        else:
            retry_at = outcome.at or now + backoff(job.attempts)
            values.update(status="pending", last_error=outcome.error, run_at=retry_at)
        async with self._sessions.begin() as session:
            # `attempts` is what this claim set; a re-queue meanwhile reset it, and that must win.
            claimed = (JobRow.id == job.id) & (JobRow.attempts == job.attempts) & (JobRow.status == "pending")
            result = await session.execute(update(JobRow).where(claimed).values(**values))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                await session.execute(update(JobRow).where(JobRow.id == job.id).values(locked_until=None))
