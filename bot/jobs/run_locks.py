"""A job runs only while its runner holds the job's lock: on PostgreSQL an advisory lock on its own
connection, which dies with the process that holds it.

Leases decide who claims a job, and a claim skips a job whose run lock is held (`repos.claim_jobs`): a
worker that stalled past its lease (a long pause, a slow database) keeps its job, and two workers never
run one job at the same time. The lock lives in the two-key advisory space (RUN_LOCK_NAMESPACE, job id);
chat turns use single keys below 2**53, whose upper half never reaches that namespace. On SQLite there
is a single process, whose lanes never hand one job to two runners.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.repos import RUN_LOCK_NAMESPACE


class RunLocks:
    """`hold(job_id)` yields whether this runner may run the job now."""

    def __init__(self, lock_engine: AsyncEngine | None) -> None:
        self._engine = lock_engine

    @asynccontextmanager
    async def hold(self, job_id: int) -> AsyncIterator[bool]:
        if self._engine is None:
            yield True
            return
        async with self._engine.connect() as connection, connection.begin():
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_xact_lock(:namespace, :job)"),
                {"namespace": RUN_LOCK_NAMESPACE, "job": job_id},
            )
            yield bool(taken)
