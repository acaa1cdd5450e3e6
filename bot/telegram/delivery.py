"""Runs the outbox's jobs: sends messages and keeps order cards current, within Telegram's limits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import i18n, texts
from bot.domain import MeetingState, Order, utcnow
from bot.errors import UserError
from bot.jobs.outbox import MEETING_WAIT, SEND, card_key
from bot.jobs.worker import Done, Fail, Job, Outcome, Retry
from bot.services.orders import CardRead, Orders
from bot.services.persons import Persons
from bot.services.zoom_connections import ZoomConnections
from bot.telegram.keyboards import keyboard as fast
from bot.telegram.limits import ChatRateLimiter
from bot.telegram.requests import OutcomeUnknown, unparsed
from bot.telegram.views import card_view, fingerprint, join_keyboard, reminder_view, retry_keyboard
from storage import repos
from storage.direct import Transaction, direct

log = logging.getLogger(__name__)

GONE = ("chat not found", "message to edit not found", "message can't be edited")
SENT = "sent"  # a card job's progress: the message id of the card it sent


def retry_seconds(error: RetryAfter) -> float:
    value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Delivery:
    """Job runners for "send" and "cards"."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot: Bot,
        orders: Orders,
        connections: ZoomConnections,
        persons: Persons,
        *,
        owner_settle: timedelta = timedelta(0),
        limiter: ChatRateLimiter | None = None,
        hold: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._bot = bot
        self._orders = orders
        self._connections = connections
        self._persons = persons
        self._owner_settle = owner_settle
        self._limiter = limiter
        self._hold = hold  # seconds a job may wait in its lane for its chat's limit

    async def send(self, job: Job) -> Outcome:
        chat_id = int(job.payload["chat_id"])
        role = job.payload.get("card_role")
        if role and job.order_id is not None:
            return await self._send_card(job, job.order_id, chat_id, str(role))
        # Rendered now, in the recipient's language (private chats: the chat id is the user id).
        with i18n.speaking(await self._persons.language_of(chat_id)):
            text, keyboard = self._text(job), await self._keyboard(job)
        return await self._deliver(job, chat_id, text, keyboard, None)

    async def _send_card(self, job: Job, order_id: int, chat_id: int, role: str) -> Outcome:
        """Send the order's card to the chat, once: read in one transaction with what the chat has already."""
        async with direct(self._sessions) as transaction:
            # Only a run after the one that sent the card finds it there (`SENT`: woken while it was being
            # sent); a first run reads no cards.
            cards = await repos.cards_in_chat(transaction, order_id, chat_id) if SENT in job.progress else []
            sent = [card for card in cards if card.role == role]
            read = await self._orders.card_in(transaction, order_id, role, chat_id)
        if read is None:
            return Done()
        if sent:
            # Woken again after the card went out (see `Outbox.wake_card`): it may have been rendered before
            # the change that woke it, so it is brought up to date here (the waker refreshes no card of a
            # chat whose card send it woke).
            with i18n.speaking(read.language):
                view = card_view(read.card)
            return await self._edit(job, order_id, [tuple(card) for card in sent], {(chat_id, role): view})
        unknown_at = job.progress.get("card_unknown")
        if isinstance(unknown_at, str) and read.updated_at.isoformat() <= unknown_at:
            return Done()  # its send lost its answer, and the order has not changed since (see `_deliver`)
        until = self._settle_until(role, read)
        if until is not None:
            # Still in its turn: the chat's later messages keep waiting behind it (per-chat order), and
            # the meeting's arrival wakes it (`Outbox.wake_card`), so it goes out once, with the link.
            return Retry(MEETING_WAIT, at=until)
        # Rendered now, in the recipient's language (private chats: the chat id is the user id).
        with i18n.speaking(read.language):
            text, keyboard = card_view(read.card)
        return await self._deliver(job, chat_id, text, keyboard, role, read.updated_at)

    def _settle_until(self, role: str, read: CardRead) -> datetime | None:
        """Until when a new order's owner card waits for the meeting being created (None: send it now)."""
        order = read.card.order
        if role != "owner" or not self._owner_settle:
            return None
        if order.meeting_state != MeetingState.PENDING or order.join_url or read.synced_version:
            return None
        until = read.created_at + self._owner_settle
        return until if until > utcnow() else None

    def _text(self, job: Job) -> str:
        message = job.payload.get("message")
        if isinstance(message, dict):
            return i18n.t(i18n.Text.from_json(message))
        return str(job.payload["text"])  # queued by a version that stored finished texts

    async def _keyboard(self, job: Job) -> InlineKeyboardMarkup | None:
        if job.payload.get("reconnect_button"):
            try:
                url = await self._connections.connect_url(int(job.payload["chat_id"]))
            except UserError:
                return None
            return InlineKeyboardMarkup(
                [[InlineKeyboardButton(i18n.t(texts.ZOOM_RECONNECT_BUTTON), url=url)]]
            )
        retry_order = job.payload.get("retry_order")
        if isinstance(retry_order, int):
            return retry_keyboard(retry_order)
        join_url = job.payload.get("join_url")
        if join_url:
            return join_keyboard(str(join_url))
        markup = job.payload.get("keyboard")  # queued by a version that stored finished keyboards
        return InlineKeyboardMarkup.de_json(markup, self._bot) if markup else None

    async def remind(self, job: Job, chat_id: int, order: Order) -> Outcome:
        """Send a reminder of `order` now, in the current language, by the rules of every message job."""
        text, keyboard = reminder_view(order)
        return await self._deliver(job, chat_id, text, keyboard, None)

    async def _deliver(
        self,
        job: Job,
        chat_id: int,
        text: str,
        keyboard: InlineKeyboardMarkup | None,
        role: str | None,
        changed_at: datetime | None = None,
    ) -> Outcome:
        """Send a message; a card (`role`, of the order last changed at `changed_at`) is recorded as sent
        with the job's outcome, in one commit."""
        held = self._held_back(chat_id)
        if held is not None:
            return held
        keyboard = fast(keyboard)  # turned into JSON twice, for the request and for the fingerprint
        try:
            with unparsed() as result:  # only the message id is read
                message = await self._bot.send_message(chat_id, text, reply_markup=keyboard)
        except OutcomeUnknown as exc:
            # Sending again could give the chat a second copy; one copy too few is the lesser harm.
            log.warning("Job %s: %s; the message may have arrived and is not sent again", job.id, exc.message)
            if role and job.order_id is not None and changed_at is not None:
                await job.save_progress(card_unknown=changed_at.isoformat())
            return Done()
        except (Forbidden, BadRequest, RetryAfter, NetworkError) as exc:
            return self._outcome(exc, chat_id)
        order_id = job.order_id
        if role and order_id is not None:
            shown, message_id = fingerprint(text, keyboard), result.message_id(message)
            job.progress[SENT] = message_id  # kept with the outcome, or for the run again if woken meanwhile

            async def record(transaction: Transaction) -> None:
                await repos.add_order_message(transaction, order_id, chat_id, message_id, role, shown)

            job.write_directly_with_outcome(record)
        return Done()

    async def cards(self, job: Job) -> Outcome:
        if job.order_id is None:
            return Done()
        order_id = job.order_id
        only = job.payload.get("chat_id")  # one chat per job (jobs queued before that cover every chat)
        views: dict[tuple[int, str], tuple[str, InlineKeyboardMarkup | None]] = {}
        # Everything this job shows is read in one transaction, before any edit.
        async with direct(self._sessions) as transaction:
            chat = int(only) if only is not None else None
            targets = list(await repos.cards_in_chat(transaction, order_id, chat))
            for chat_id, _message_id, role, _seen in targets:
                if (chat_id, role) not in views:
                    read = await self._orders.card_in(transaction, order_id, role, chat_id)
                    if read is None:
                        return Done()
                    with i18n.speaking(read.language):
                        views[chat_id, role] = card_view(read.card)
        if only is not None and not targets:
            await self._resend_unknown_cards(order_id, int(only))
            return Done()
        return await self._edit(job, order_id, targets, views)

    async def _edit(
        self,
        job: Job,
        order_id: int,
        targets: Sequence[Sequence[Any]],
        views: dict[tuple[int, str], tuple[str, InlineKeyboardMarkup | None]],
    ) -> Outcome:
        """Edit each card (chat_id, message_id, role, what it shows) whose view differs from what it shows."""
        for chat_id, message_id, role, seen in targets:
            text, keyboard = views[chat_id, role][0], fast(views[chat_id, role][1])
            shown = fingerprint(text, keyboard)
            if shown == seen:
                continue  # the card shows this already: an edit would change nothing
            held = self._held_back(chat_id)
            if held is not None:
                return held
            try:
                with unparsed():  # the edited message Telegram answers with is not read
                    await self._bot.edit_message_text(
                        text, chat_id=chat_id, message_id=message_id, reply_markup=keyboard
                    )
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    self._shown(job, order_id, chat_id, message_id, seen, shown)
                    continue
                outcome = self._outcome(exc, chat_id)
                if not isinstance(outcome, Done):
                    return outcome
            except (Forbidden, RetryAfter, NetworkError) as exc:
                outcome = self._outcome(exc, chat_id)
                if not isinstance(outcome, Done):
                    return outcome
            else:
                self._shown(job, order_id, chat_id, message_id, seen, shown)
        return Done()

    def _held_back(self, chat_id: int) -> Retry | None:
        """A write the chat's limit would hold longer than `hold` (a flood wait Telegram asked for) comes back
        when it may go, and the lane serves other chats meanwhile; its chat's later jobs wait behind it
        (per-chat order). Shorter waits are waited out in the lane: a job sent back and claimed again costs
        the database more than the wait (measured: 12 s for the limits burst against 19-21 s)."""
        wait = self._limiter.chat_wait(chat_id) if self._limiter is not None else 0.0
        if wait <= self._hold:
            return None
        return Retry("waiting for the chat's flood limit", at=utcnow() + timedelta(seconds=wait))

    @staticmethod
    def _shown(job: Job, order_id: int, chat_id: int, message_id: int, seen: str | None, shown: str) -> None:
        """Record what the card shows now, with the job's outcome (one commit)."""

        async def record(transaction: Transaction) -> None:
            await repos.card_shown(transaction, order_id, chat_id, message_id, seen, shown)

        job.write_directly_with_outcome(record)

    async def _resend_unknown_cards(self, order_id: int, chat_id: int) -> None:
        """Once the order has changed, send anew a card of the chat whose send lost its answer: if that copy
        did arrive, it misses this change, instead of the chat getting the same card twice."""
        async with self._sessions.begin() as session:
            order = await repos.get_order(session, order_id)
            for role in ("owner", "customer"):
                row = await repos.job_by_key(session, card_key(order_id, chat_id, role))
                if order is None or row is None or row.status != "done":
                    continue
                unknown_at = (row.progress or {}).get("card_unknown")
                if isinstance(unknown_at, str) and order.updated_at.isoformat() > unknown_at:
                    payload = dict(row.payload or {})
                    await repos.enqueue(session, SEND, row.key, utcnow(), order_id=order_id, payload=payload)

    def _outcome(self, exc: TelegramError, chat_id: int) -> Outcome:
        if isinstance(exc, RetryAfter):
            return Retry("Telegram flood control", at=utcnow() + timedelta(seconds=retry_seconds(exc) + 0.1))
        if isinstance(exc, Forbidden):
            log.info("Chat %s blocked the bot; message dropped", chat_id)
            return Done()
        if isinstance(exc, BadRequest):
            if any(reason in exc.message.lower() for reason in GONE):
                log.info("Chat %s: %s; nothing to deliver", chat_id, exc.message)
                return Done()
            return Fail(f"Telegram refused: {exc.message}")
        return Retry(f"Telegram unreachable: {type(exc).__name__}")
