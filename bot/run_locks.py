"""A job runs only while its runner holds the job's lock: on PostgreSQL an advisory lock on its own
connection, which dies with the process that holds it.

Leases decide who claims a job; this lock makes sure that a worker that stalled past its lease (a long
pause, a slow database) and the worker that took the job over never run it at the same time. On SQLite
there is a single process, whose lanes never hand one job to two runners.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The two-key advisory lock space (namespace, job id); chat turns use single keys below 2**53, whose
# upper half never reaches this namespace.
JOB_NAMESPACE = 0x6A6F62  # "job"


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
                {"namespace": JOB_NAMESPACE, "job": job_id},
            )
            yield bool(taken)
