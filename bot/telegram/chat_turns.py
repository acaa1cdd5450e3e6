"""One update of a chat at a time: across replicas on PostgreSQL, within the process on SQLite.

On PostgreSQL a transaction-scoped advisory lock on the chat id is held, on its own connection, while
the update is handled; a replica that dies lets go of it with its connection. The key is the chat id
itself (Telegram ids stay below 2**53, far from the migration lock's key).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class ChatTurns:
    """Hands out turns per chat; `hold(chat_id)` waits for the chat's previous update to finish."""

    def __init__(self, lock_engine: AsyncEngine | None) -> None:
        self._engine = lock_engine  # None: a single process (SQLite), so in-process locks suffice
        self._local: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int | None) -> AsyncIterator[None]:
        if chat_id is None:
            yield
        elif self._engine is not None:
            async with self._engine.connect() as connection, connection.begin():
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": chat_id})
                yield
        else:
            async with self._local_lock(chat_id):
                yield

    @asynccontextmanager
    async def _local_lock(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._local.get(chat_id, (asyncio.Lock(), 0))
        self._local[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._local[chat_id]
            if users == 1:
                del self._local[chat_id]
            else:
                self._local[chat_id] = (lock, users - 1)
