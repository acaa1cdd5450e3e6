"""Telegram jobs served per chat: each chat's messages and card edits in order, chats side by side.

One chat waiting on its own limit (or on a RetryAfter that Telegram gave that chat) holds only its own
place; up to `chats` other chats are served meanwhile, all within the overall limit of the rate limiter.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import utcnow
from bot.services.outbox import Outbox
from bot.worker import LEASE, Worker
from storage import repos
from storage.models import JobRow

log = logging.getLogger(__name__)


class ChatDelivery:
    """Claims the next job of each idle chat and runs it through the worker, until stopped."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        worker: Worker,
        kinds: tuple[str, ...],
        chats: int,
        poll_interval: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._worker = worker
        self._kinds = kinds
        self._chats = chats
        self._poll = poll_interval
        self._busy: set[int] = set()
        self._running: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._changed.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                started = await self.run_due()
            except Exception:
                log.exception("The per-chat delivery failed to claim jobs; trying again")
                started = 0
            if not started:
                await self._idle()
        if self._running:
            await asyncio.wait(self._running, timeout=LEASE.total_seconds())

    async def run_due(self) -> int:
        free = self._chats - len(self._running)
        if free <= 0:
            return 0
        async with self._sessions.begin() as session:
            rows = await repos.claim_chat_jobs(session, self._kinds, utcnow(), LEASE, set(self._busy), free)
        for row in rows:
            self._start(row)
        return len(rows)

    def _start(self, row: JobRow) -> None:
        chat = row.chat_id
        if chat is not None:
            self._busy.add(chat)
        task = asyncio.create_task(self._worker.run_claimed(row), name=f"deliver-{row.id}")
        self._running.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._running.discard(done)
            if chat is not None:
                self._busy.discard(chat)
            if not done.cancelled() and done.exception() is not None:
                log.error("Delivering job %s failed", row.id, exc_info=done.exception())
            self._changed.set()

        task.add_done_callback(finished)

    async def _idle(self) -> None:
        """Until a chat is free again, the outbox has news, or the poll interval passes."""
        changed = asyncio.ensure_future(self._changed.wait())
        news = asyncio.ensure_future(self._outbox.wait(self._poll))
        try:
            await asyncio.wait({changed, news}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            news.cancel()
            self._changed.clear()
