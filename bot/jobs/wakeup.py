"""Wakes this replica's worker when any replica queues a job: LISTEN on PostgreSQL's job channel.

`repos.enqueue` sends NOTIFY in the queuing transaction, so the signal arrives once the job is
committed and visible. On SQLite there is one process and the outbox's in-process wake-up suffices.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import make_url

from bot.jobs.outbox import Outbox
from storage.repos import JOBS_CHANNEL

log = logging.getLogger(__name__)


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it (the same credentials, without the driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class JobWakeup:
    """Keeps one LISTEN connection open (reconnecting after a loss) and wakes the outbox on NOTIFY."""

    def __init__(self, database_url: str, outbox: Outbox, reconnect_seconds: float = 2.0) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._outbox = outbox
        self._reconnect = reconnect_seconds
        self._stopping = asyncio.Event()
        self.listening = asyncio.Event()  # set while the LISTEN connection is up

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        import asyncpg  # PostgreSQL only: a bot on SQLite never loads the driver

        while not self._stopping.is_set():
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("Job notifications lost (%s); listening again shortly", type(exc).__name__)
            # Whatever was queued while not listening is found by the worker's regular look.
            self._outbox.wake()
            try:
                await asyncio.wait_for(self._stopping.wait(), self._reconnect)
            except TimeoutError:
                continue

    async def _listen(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(self._dsn, timeout=10)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(JOBS_CHANNEL, self._notified)
            self.listening.set()
            stop = asyncio.ensure_future(self._stopping.wait())
            gone = asyncio.ensure_future(lost.wait())
            await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            gone.cancel()
            if lost.is_set():
                raise ConnectionError("the listening connection was closed")
        finally:
            self.listening.clear()
            if not connection.is_closed():
                await connection.close(timeout=5)

    def _notified(self, *_args: Any) -> None:
        self._outbox.wake()
