"""Updates from Telegram, by long polling or by webhook, each processed once (recorded in the database)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot import texts
from bot.batches import Batched
from bot.domain import utcnow
from bot.i18n import Text
from bot.jobs.outbox import Outbox
from bot.logs import log_context
from bot.telegram.buttons import Verb, parse
from bot.telegram.chat_turns import ChatTurns
from bot.telegram.delivery import retry_seconds
from bot.telegram.limits import answering
from storage import json_codec, repos
from storage.direct import direct

log = logging.getLogger(__name__)
Fetched = tuple[Update, dict[str, Any]]  # an update, and its JSON as stored

ALLOWED = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 10
SLOW_DOWN = "slow-down"
# Presses that finish an order or a change to one: what is left of it is one handler and the jobs it queues.
FINISHING = frozenset({Verb.ORDER_CONFIRM, Verb.CLIENT_CONFIRM, Verb.ACTION_CONFIRMED})
# What Telegram sends of the message a button was pressed on and no handler reads: its inline keyboard and its
# text's formatting. A press carries that message whole, and its keyboard (a day's times, a month's days) was
# most of the CPU of parsing the update and of storing it.
UNREAD_OF_PRESSED = ("reply_markup", "entities")


def without_unread(data: dict[str, Any]) -> dict[str, Any]:
    """The update's JSON without what no handler reads (`UNREAD_OF_PRESSED`); the same dict without any."""
    query = data.get("callback_query")
    message = query.get("message") if isinstance(query, dict) else None
    if not isinstance(message, dict) or not any(key in message for key in UNREAD_OF_PRESSED):
        return data
    kept = {key: value for key, value in message.items() if key not in UNREAD_OF_PRESSED}
    return {**data, "callback_query": {**query, "message": kept}}  # type: ignore[dict-item]


class Finishes:
    """Records handled stored updates as processed, dropping their stored copies, several in one transaction.

    `finish(update_id)` returns once the transaction that carries the update has committed, so its caller
    waits just as long as with a transaction of its own (a chat's next update is still handled only after
    its previous one is recorded): the first update to finish starts a transaction at once, and updates
    that finish while it runs go together in the next. A transaction that fails fails each of its updates.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._batched: Batched[int, None] = Batched(self._write, "finish-updates")

    async def finish(self, update_id: int) -> None:
        await self._batched(update_id)

    async def _write(self, update_ids: list[int]) -> None:
        async with direct(self._sessions) as transaction:
            await repos.finish_received(transaction, update_ids, utcnow())


class UpdateIntake:
    """Feeds updates to the application, skipping any already processed.

    Polling stores each fetched update in the database and confirms it to Telegram at once, so one busy
    chat never keeps the others' updates from being fetched and a crash (even kill -9) loses nothing:
    stored updates are handled after a restart. Chats are served side by side, each chat's updates in
    order. A chat with `backlog` updates waiting is asked once to slow down and the rest of its flood is
    dropped.
    """

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        sessions: async_sessionmaker[AsyncSession],
        turns: ChatTurns | None = None,
        outbox: Outbox | None = None,
        backlog: int = 30,
        *,
        chats: int = 8,
        poll_timeout: int = POLL_TIMEOUT,
        retry: tuple[float, float] = (1.0, 30.0),
        conflict_wait: float = 5.0,
        drain_seconds: float = 15.0,
        keep_processed: timedelta = timedelta(days=2),
    ) -> None:
        self._application = application
        self._poll_timeout = poll_timeout
        self._retry_first, self._retry_cap = retry  # getUpdates errors: wait this long, doubling to the cap
        self._conflict_wait = conflict_wait
        self._drain_seconds = drain_seconds
        self._keep_processed = keep_processed
        self._sessions = sessions
        self._turns = turns or ChatTurns(None)
        self._outbox = outbox
        self._backlog = backlog
        self._stopping = asyncio.Event()
        self._chats = chats
        self._queues: dict[int, deque[Update]] = {}  # each chat's updates not yet handled, in order
        self._chains: dict[int, asyncio.Task[None]] = {}  # the chats being served now
        # Chats with updates waiting for a place among those served, in the order they came: first those whose
        # next update finishes an order (or a change to one), then the rest.
        self._turns_first: deque[int] = deque()
        self._turns_next: deque[int] = deque()
        self._warned: set[int] = set()  # chats told to slow down since their backlog was last empty
        self._finishes = Finishes(sessions)

    async def process(self, update: Update) -> None:
        """Handle the update once, in its chat's turn (other replicas hold back that chat meanwhile)."""
        chat = update.effective_chat or update.effective_user
        chat_id = chat.id if chat is not None else None
        with log_context(update_id=update.update_id), answering(chat_id):
            async with self._turns.hold(chat_id):
                async with direct(self._sessions) as transaction:
                    if await repos.is_processed(transaction, update.update_id):
                        return
                await self._application.process_update(update)
                async with direct(self._sessions) as transaction:
                    await repos.mark_update(transaction, update.update_id, utcnow())

    async def _process_stored(self, update: Update) -> None:
        """Handle a stored update, in its chat's turn; then record it as processed and drop its stored copy
        in one transaction (shared with other chats' updates finishing meanwhile). A stored update is not
        processed yet (both change together), so no look first."""
        chat = update.effective_chat or update.effective_user
        chat_id = chat.id if chat is not None else None
        with log_context(update_id=update.update_id), answering(chat_id):
            async with self._turns.hold(chat_id):
                await self._application.process_update(update)
                await self._finishes.finish(update.update_id)

    async def receive_json(self, body: bytes) -> int:
        try:
            data = json_codec.decode(body)
        except ValueError:
            return 400
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
            return 400
        try:
            update = Update.de_json(without_unread(data), self._application.bot)
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
            stored = await repos.received_updates(session)
        for row in stored:  # confirmed before a restart, not yet handled
            self._queue(row.chat_id, Update.de_json(row.data, self._application.bot))
        offset: int | None = None
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
            if not updates:
                continue
            try:
                accepted = await self._store(updates)
            except Exception:
                log.exception("Could not store fetched updates; fetching them again")
                await self._sleep(delay)
                delay = min(delay * 2, self._retry_cap)
                continue
            offset = max(update.update_id for update, _ in updates) + 1  # stored: confirm them all
            for chat, update in accepted:
                self._queue(chat, update)
        await self._drain()

    async def _store(self, updates: list[Fetched]) -> list[tuple[int, Update]]:
        """Store the updates to handle (their JSON as fetched), in one transaction; drop a flooding chat's
        excess (asking it once to slow down: a notice queued with them, which needs a session)."""
        async with direct(self._sessions) as transaction:
            known = await repos.known_updates(transaction, [update.update_id for update, _ in updates])
            accepted, rows, flooding = self._sort_out(updates, known)
            if not (flooding - self._warned - {0}) or self._outbox is None:
                await repos.store_updates(transaction, rows, utcnow())
                for chat in flooding:
                    self._note_flood(chat)
                return accepted
        async with self._sessions.begin() as session:
            known = await repos.known_updates(session, [update.update_id for update, _ in updates])
            accepted, rows, flooding = self._sort_out(updates, known)
            for chat in sorted(flooding):
                await self._slow_down(session, chat)
            await repos.store_updates(session, rows, utcnow())
        return accepted

    def _sort_out(
        self, updates: list[Fetched], known: set[int]
    ) -> tuple[list[tuple[int, Update]], list[tuple[int, int, dict[str, Any]]], set[int]]:
        """The updates to handle and their rows to store, oldest first, and the chats whose excess is
        dropped (those with `backlog` updates waiting); updates stored or processed before are left out."""
        accepted: list[tuple[int, Update]] = []
        rows: list[tuple[int, int, dict[str, Any]]] = []
        flooding: set[int] = set()
        waiting = {chat: len(queue) for chat, queue in self._queues.items()}
        known = set(known)
        for update, data in sorted(updates, key=lambda fetched: fetched[0].update_id):
            if update.update_id in known:
                continue
            chat = self._chat_of(update)
            if waiting.get(chat, 0) >= self._backlog:
                flooding.add(chat)
                continue
            known.add(update.update_id)
            waiting[chat] = waiting.get(chat, 0) + 1
            accepted.append((chat, update))
            rows.append((update.update_id, chat, data))
        return accepted, rows, flooding

    async def _slow_down(self, session: AsyncSession, chat: int) -> None:
        if self._note_flood(chat) and self._outbox is not None:
            await self._outbox.notice(session, chat, SLOW_DOWN, Text(texts.SLOW_DOWN))

    def _note_flood(self, chat: int) -> bool:
        """Whether the chat is to be told to slow down now (once until its backlog is empty again)."""
        if chat in self._warned or chat == 0:
            return False
        self._warned.add(chat)
        log.info("Chat %s has %s updates waiting; dropping the rest of its flood", chat, self._backlog)
        return True

    @staticmethod
    def _chat_of(update: Update) -> int:
        chat = update.effective_chat or update.effective_user
        return chat.id if chat is not None else 0

    def _queue(self, chat: int, update: Update) -> None:
        """Handle the update after the chat's earlier ones."""
        queue = self._queues.setdefault(chat, deque())
        queue.append(update)
        if len(queue) == 1 and chat not in self._chains:
            self._wait_turn(chat, update)
            self._serve_next()

    def _wait_turn(self, chat: int, update: Update) -> None:
        """Let the chat wait for a place to handle `update`, its oldest: a press that finishes an order goes
        before the others waiting (what is left of that order is the quickest to finish), in order."""
        query = update.callback_query
        press = parse(query.data) if query is not None else None
        finishing = press is not None and press.verb in FINISHING
        (self._turns_first if finishing else self._turns_next).append(chat)

    def _serve_next(self) -> None:
        """Serve waiting chats while fewer than `chats` are being served."""
        while len(self._chains) < self._chats and (self._turns_first or self._turns_next):
            chat = (self._turns_first or self._turns_next).popleft()
            self._chains[chat] = asyncio.create_task(self._serve(chat), name=f"chat-{chat}")

    async def _serve(self, chat: int) -> None:
        """Handle the chat's oldest update; its next one waits for its turn behind the chats waiting now."""
        queue = self._queues[chat]
        update = queue[0]
        try:
            try:
                await self._process_stored(update)
            except Exception:
                log.exception("Update %s could not be handled", update.update_id)
                try:
                    async with direct(self._sessions) as transaction:
                        await repos.forget_received(transaction, update.update_id)
                except Exception:
                    log.exception(
                        "Could not clear update %s; handled again after a restart", update.update_id
                    )
            queue.popleft()
        finally:
            del self._chains[chat]
            if queue:
                self._wait_turn(chat, queue[0])
            else:
                del self._queues[chat]
                self._warned.discard(chat)
            self._serve_next()

    async def _drain(self) -> None:
        """Let the chats finish what was fetched, for up to `drain_seconds`; the rest stays stored."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._drain_seconds
        while self._chains and (left := deadline - loop.time()) > 0:
            await asyncio.wait(list(self._chains.values()), timeout=left, return_when=asyncio.FIRST_COMPLETED)

    async def _fetch(self, offset: int | None) -> list[Fetched]:
        """One long poll, abandoned at once when stopping (unconfirmed updates come again next time)."""
        fetch: asyncio.Future[list[Fetched]] = asyncio.ensure_future(self._get_updates(offset))
        stop: asyncio.Future[object] = asyncio.ensure_future(self._stopping.wait())
        waiting: set[asyncio.Future[object]] = {fetch, stop}  # type: ignore[arg-type]
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if fetch not in done:
            fetch.cancel()
            return []
        return fetch.result()

    async def _get_updates(self, offset: int | None) -> list[Fetched]:
        """getUpdates: each update parsed from its JSON without what no handler reads, with that JSON (what
        is stored). `Bot.get_updates` parses each update whole, and storing one took it apart again
        (`to_dict`); this posts the same request as it does through the same request object (PTB's
        `Bot._post`, and the read timeout it adds to the long poll's), and falls back to it when PTB's
        internals are not the ones this knows."""
        bot = self._application.bot
        post = getattr(bot, "_post", None)
        requests = getattr(bot, "_request", None)  # (getUpdates' request object, the others')
        if post is None or not isinstance(requests, tuple) or not requests:
            timeout, allowed = self._poll_timeout, ALLOWED
            updates = await bot.get_updates(offset=offset, timeout=timeout, allowed_updates=allowed)
            return [(update, without_unread(update.to_dict())) for update in updates]
        read_timeout = (requests[0].read_timeout or 0) + self._poll_timeout
        data: dict[str, Any] = {"timeout": self._poll_timeout, "allowed_updates": ALLOWED}
        if offset is not None:
            data["offset"] = offset
        result = await post("getUpdates", data, read_timeout=read_timeout)
        fetched = [without_unread(item) for item in result or ()]
        return [(Update.de_json(item, bot), item) for item in fetched]

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
