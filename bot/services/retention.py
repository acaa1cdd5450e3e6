"""Purge of old rows: finished jobs, Zoom webhook events, processed Telegram updates and counted customer
edits are kept for a set time, then deleted, keeping what dedupe and live orders still need.

The purge is one recurring job ("purge"): the job claim gives it to one worker among all replicas, and
each run plans the next one. What is kept:
- jobs that are pending or waiting, and every job of an active order (a sync job's progress says
  whether a create was sent, so an edit reviving it never makes a second meeting);
- Zoom webhook events for the retention time: at least a day, while Zoom retries an event for 85 minutes
  (+5, +20, +60 min), so a retry is still recognized;
- processed Telegram updates for their own, shorter time: Telegram keeps an unconfirmed update 24 hours,
  and after a week without updates numbers new ones at random, so an old id must not be kept that long;
- customer edits for the edit-limit window that counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import utcnow
from bot.jobs.worker import Done, Job, Outcome
from storage import repos

log = logging.getLogger(__name__)

PURGE = "purge"
PURGE_KEY = "purge"
BATCH = 1000  # rows per transaction: a long purge never holds SQLite's write lock for long

Forget = Callable[[AsyncSession, datetime, int], Awaitable[int]]  # deletes a batch, returns its size


@dataclass(frozen=True)
class Purged:
    jobs: int
    events: int
    updates: int
    edits: int


@dataclass(frozen=True)
class Keep:
    """How long each kind of row is kept, and how often the purge runs."""

    finished: timedelta  # jobs and Zoom webhook events
    updates: timedelta  # processed Telegram updates
    edits: timedelta  # customer edits: the edit limit's window
    interval: timedelta


class Retention:
    """Runs the recurring purge job."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], keep: Keep) -> None:
        self._sessions = sessions
        self._keep = keep

    async def run(self, job: Job) -> Outcome:
        purged = await self.purge(utcnow())
        if any((purged.jobs, purged.events, purged.updates, purged.edits)):
            log.info(
                "Purged %s job(s), %s Zoom event(s), %s processed update(s), %s customer edit(s)",
                purged.jobs,
                purged.events,
                purged.updates,
                purged.edits,
            )
        async with self._sessions.begin() as session:
            # Queued again while it runs: the worker leaves it pending for the next run.
            await repos.enqueue(session, PURGE, PURGE_KEY, utcnow(), delay=self._keep.interval)
        return Done()

    async def purge(self, now: datetime) -> Purged:
        keep = self._keep
        return Purged(
            jobs=await self._jobs(now - keep.finished),
            events=await self._batches(repos.forget_events, now - keep.finished),
            updates=await self._batches(repos.forget_update_batch, now - keep.updates),
            edits=await self._edits(now - keep.edits),
        )

    async def _jobs(self, before: datetime) -> int:
        total = 0
        while True:
            async with self._sessions.begin() as session:
                ids = await repos.old_finished_jobs(session, before, BATCH)
                total += await repos.delete_finished_jobs(session, ids, before) if ids else 0
            if len(ids) < BATCH:
                return total

    async def _batches(self, forget: Forget, before: datetime) -> int:
        total = 0
        while True:
            async with self._sessions.begin() as session:
                count = await forget(session, before, BATCH)
            total += count
            if count < BATCH:
                return total

    async def _edits(self, before: datetime) -> int:
        async with self._sessions.begin() as session:
            return await repos.forget_customer_edits(session, before)
