"""What /readyz and /metrics report: the database, the schema, the worker, and the job queue."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain import utcnow
from bot.jobs.worker import Worker
from bot.metrics import JobCount, Metrics
from storage import repos
from storage.db import head_revision, schema_revision

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0
PENDING_STATES = ("queued", "scheduled", "running")


class Readiness:
    """Ready while the database answers, its schema is at the newest migration and the worker runs."""

    def __init__(
        self, engine: AsyncEngine, worker: Worker, worker_max_age: float, check_timeout: float = CHECK_TIMEOUT
    ) -> None:
        self._engine = engine
        self._check_timeout = check_timeout
        self._worker = worker
        self._worker_max_age = worker_max_age
        self._head = head_revision()

    async def problem(self) -> str | None:
        """Why this replica should not get traffic now, or None when it is ready."""
        try:
            revision = await asyncio.wait_for(schema_revision(self._engine), self._check_timeout)
        except Exception as exc:
            log.warning("Readiness: the database does not answer (%s)", type(exc).__name__)
            return "the database does not answer"
        if revision != self._head:
            return f"the database schema is at {revision}, not at {self._head} (run: python -m bot migrate)"
        last = self._worker.last_cycle
        if last is None:
            return "the job worker has not run yet"
        idle = time.monotonic() - last
        if idle > self._worker_max_age:
            return f"the job worker has not run for {idle:.0f} s"
        return None


class Scrape:
    """The body of GET /metrics: the counters, and the job gauges read from the database now."""

    def __init__(
        self,
        metrics: Metrics,
        sessions: async_sessionmaker[AsyncSession],
        check_timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self._metrics = metrics
        self._check_timeout = check_timeout
        self._sessions = sessions

    async def render(self) -> bytes:
        now = utcnow()
        try:
            async with asyncio.timeout(self._check_timeout), self._sessions() as session:
                rows = await repos.job_counts(session, now)
        except Exception as exc:  # the counters are still worth serving without the job gauges
            log.warning("Metrics: could not read the jobs (%s)", type(exc).__name__)
        else:
            counts = [
                JobCount(kind, state, count, due if state in PENDING_STATES else changed)
                for kind, state, count, due, changed in rows
            ]
            self._metrics.show_jobs(counts, now)
        return self._metrics.render()
