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
from bot.logs import log_context
from bot.telegram.chat_turns import ChatTurns
from bot.telegram.delivery import retry_seconds
from storage import repos

log = logging.getLogger(__name__)

ALLOWED = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 10


class UpdateIntake:
    """Feeds updates to the application, skipping any already processed.

    Chats are served side by side, each chat's updates in order, so one busy or flooding chat does not
    hold up the others. Polling confirms an update to Telegram only once it and every earlier one are
    done, so a crash loses nothing; the database says which of the returned ones were already handled.
    """

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        sessions: async_sessionmaker[AsyncSession],
        turns: ChatTurns | None = None,
        poll_timeout: int = POLL_TIMEOUT,
        *,
        retry: tuple[float, float] = (1.0, 30.0),
        conflict_wait: float = 5.0,
        drain_seconds: float = 15.0,
        keep_processed: timedelta = timedelta(days=2),
        busy_recheck: float = 0.3,
    ) -> None:
        self._application = application
        self._poll_timeout = poll_timeout
        self._retry_first, self._retry_cap = retry  # getUpdates errors: wait this long, doubling to the cap
        self._conflict_wait = conflict_wait
        self._drain_seconds = drain_seconds
        self._keep_processed = keep_processed
        self._busy_recheck = busy_recheck
        self._sessions = sessions
        self._turns = turns or ChatTurns(None)
        self._stopping = asyncio.Event()
        self._chains: dict[int, asyncio.Task[None]] = {}
        self._inflight: set[int] = set()
        self._done: set[int] = set()  # handled ids Telegram may still return (not yet confirmed)

    async def process(self, update: Update) -> None:
        """Handle the update once, in its chat's turn (other replicas hold back that chat meanwhile)."""
        chat = update.effective_chat or update.effective_user
        with log_context(update_id=update.update_id):
            async with self._turns.hold(chat.id if chat is not None else None):
                async with self._sessions() as session:
                    if await repos.is_processed(session, update.update_id):
                        return
                await self._application.process_update(update)
                async with self._sessions.begin() as session:
                    await repos.mark_update(session, update.update_id, utcnow())

    async def receive_json(self, body: bytes) -> int:
        try:
            data = json.loads(body)
        except ValueError:
            return 400
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
            return 400
        try:
            update = Update.de_json(data, self._application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return 400
        await self.process(update)
        return 200

    def stop(self) -> None:
        self._stopping.set()

    async def poll(self) -> None:
        """Long-poll getUpdates until stopped, then let the chats being served finish."""
        async with self._sessions.begin() as session:
            await repos.forget_updates(session, utcnow() - self._keep_processed)
        offset: int | None = None  # Telegram keeps everything not yet confirmed
        delay = self._retry_first
        while not self._stopping.is_set():
            try:
                updates = await self._fetch(offset)
                delay = self._retry_first
            except InvalidToken:
                log.error("Telegram refused the bot token; stopping")
                raise
            except RetryAfter as exc:
                await self._sleep(retry_seconds(exc))
                continue
            except Conflict:
                log.warning("Another instance is polling with this token; waiting")
                await self._sleep(self._conflict_wait)
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, delay)
                await self._sleep(delay)
                delay = min(delay * 2, self._retry_cap)
                continue
            fresh = [
                u for u in updates if u.update_id not in self._inflight and u.update_id not in self._done
            ]
            for update in fresh:
                self._dispatch(update)
            if updates:
                offset = self._next_offset(max(update.update_id for update in updates) + 1)
            if updates and not fresh:
                await self._sleep(self._busy_recheck)  # only updates still being handled came back
        await self._drain()

    def _next_offset(self, after_newest: int) -> int:
        """Confirm everything before the oldest update still being handled (or all that were seen)."""
        offset = min(self._inflight, default=after_newest)
        self._done = {update_id for update_id in self._done if update_id >= offset}
        return offset

    def _dispatch(self, update: Update) -> None:
        """Handle the update after the previous one of the same chat."""
        chat = update.effective_chat or update.effective_user
        key = chat.id if chat is not None else 0
        previous = self._chains.get(key)
        self._inflight.add(update.update_id)
        task = asyncio.create_task(self._after(previous, update))
        self._chains[key] = task

        def finished(done: asyncio.Task[None]) -> None:
            self._inflight.discard(update.update_id)
            self._done.add(update.update_id)
            if self._chains.get(key) is done:
                del self._chains[key]

        task.add_done_callback(finished)

    async def _after(self, previous: asyncio.Task[None] | None, update: Update) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        try:
            await self.process(update)
        except Exception:
            log.exception("Update %s could not be handled", update.update_id)

    async def _drain(self) -> None:
        chains = list(self._chains.values())
        if chains:
            await asyncio.wait(chains, timeout=self._drain_seconds)

    async def _fetch(self, offset: int | None) -> tuple[Update, ...]:
        """One long poll, abandoned at once when stopping (unconfirmed updates come again next time)."""
        fetch: asyncio.Future[tuple[Update, ...]] = asyncio.ensure_future(
            self._application.bot.get_updates(
                offset=offset, timeout=self._poll_timeout, allowed_updates=ALLOWED
            )
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
