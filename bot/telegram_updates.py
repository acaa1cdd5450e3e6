"""Updates from Telegram, by long polling or by webhook, each processed once (recorded in the database)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.domain import utcnow
from bot.services.delivery import retry_seconds
from storage import repos

log = logging.getLogger(__name__)

ALLOWED = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 10


class UpdateIntake:
    """Feeds updates to the application, skipping any already processed."""

    def __init__(self, application: Application, sessions: async_sessionmaker[AsyncSession]) -> None:  # type: ignore[type-arg]
        self._application = application
        self._sessions = sessions
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()

    async def process(self, update: Update) -> None:
        async with self._sessions() as session:
            if await repos.is_processed(session, update.update_id):
                return
        await self._application.process_update(update)
        async with self._sessions.begin() as session:
            await repos.mark_update(session, update.update_id, utcnow())

    async def receive_json(self, body: bytes) -> int:
        try:
            data = json.loads(body)
            update = Update.de_json(data, self._application.bot)
        except (ValueError, TypeError, KeyError):
            return 400
        if update is None:
            return 400
        await self.process(update)
        return 200

    def stop(self) -> None:
        self._stopping.set()

    async def poll(self) -> None:
        """Long-poll getUpdates until stopped; confirmed offsets come from the database after a restart."""
        async with self._sessions.begin() as session:
            await repos.forget_updates(session, utcnow() - timedelta(days=2))
            last = await repos.last_update_id(session)
        offset = last + 1 if last is not None else None
        delay = 1.0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch(offset)
                delay = 1.0
            except InvalidToken:
                log.error("Telegram refused the bot token; stopping")
                raise
            except RetryAfter as exc:
                await self._sleep(retry_seconds(exc))
                continue
            except Conflict:
                log.warning("Another instance is polling with this token; waiting")
                await self._sleep(5)
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 30)
                continue
            for update in updates:
                await self.process(update)
                offset = update.update_id + 1

    async def _fetch(self, offset: int | None) -> tuple[Update, ...]:
        """One long poll, abandoned at once when stopping (unconfirmed updates come again next time)."""
        fetch: asyncio.Future[tuple[Update, ...]] = asyncio.ensure_future(
            self._application.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED)
        )
        stop: asyncio.Future[object] = asyncio.ensure_future(self._stopping.wait())
        waiting: set[asyncio.Future[object]] = {fetch, stop}  # type: ignore[arg-type]
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if fetch not in done:
            fetch.cancel()
            return ()
        return fetch.result()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
