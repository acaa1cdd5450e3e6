"""Runs the outbox's jobs: sends messages and keeps order cards current, within Telegram's limits."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import i18n, texts
from bot.domain import Order, utcnow
from bot.errors import UserError
from bot.jobs.outbox import SEND, card_key
from bot.jobs.worker import Done, Fail, Job, Outcome, Retry
from bot.services.orders import Orders
from bot.services.persons import Persons
from bot.services.zoom_connections import ZoomConnections
from bot.telegram.requests import OutcomeUnknown
from bot.telegram.views import card_view, join_keyboard, reminder_view, retry_keyboard
from storage import repos

log = logging.getLogger(__name__)

GONE = ("chat not found", "message to edit not found", "message can't be edited")


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
    ) -> None:
        self._sessions = sessions
        self._bot = bot
        self._orders = orders
        self._connections = connections
        self._persons = persons

    async def send(self, job: Job) -> Outcome:
        chat_id = int(job.payload["chat_id"])
        role = job.payload.get("card_role")
        # Rendered now, in the recipient's language (private chats: the chat id is the user id).
        with i18n.speaking(await self._persons.language_of(chat_id)):
            if role and job.order_id is not None:
                card = await self._orders.card(job.order_id, str(role))
                if card is None:
                    return Done()
                text, keyboard = card_view(card)
            else:
                text, keyboard = self._text(job), await self._keyboard(job)
        return await self._deliver(job, chat_id, text, keyboard, role)

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
        self, job: Job, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None, role: object
    ) -> Outcome:
        try:
            message = await self._bot.send_message(chat_id, text, reply_markup=keyboard)
        except OutcomeUnknown as exc:
            # Sending again could give the chat a second copy; one copy too few is the lesser harm.
            log.warning("Job %s: %s; the message may have arrived and is not sent again", job.id, exc.message)
            if role and job.order_id is not None:
                await job.save_progress(card_unknown=await self._order_changed_at(job.order_id))
            return Done()
        except (Forbidden, BadRequest, RetryAfter, NetworkError) as exc:
            return self._outcome(exc, chat_id)
        if role and job.order_id is not None:
            async with self._sessions.begin() as session:
                await repos.add_order_message(session, job.order_id, chat_id, message.message_id, str(role))
        return Done()

    async def cards(self, job: Job) -> Outcome:
        if job.order_id is None:
            return Done()
        only = job.payload.get("chat_id")  # one chat per job (jobs queued before that cover every chat)
        async with self._sessions() as session:
            targets = [
                (m.chat_id, m.message_id, m.role)
                for m in await repos.order_messages(session, job.order_id)
                if only is None or m.chat_id == int(only)
            ]
        if only is not None and not targets:
            await self._resend_unknown_cards(job.order_id, int(only))
            return Done()
        for chat_id, message_id, role in targets:
            with i18n.speaking(await self._persons.language_of(chat_id)):
                card = await self._orders.card(job.order_id, role)
                view = card_view(card) if card is not None else None
            if view is None:
                return Done()
            try:
                await self._bot.edit_message_text(
                    view[0], chat_id=chat_id, message_id=message_id, reply_markup=view[1]
                )
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    continue
                outcome = self._outcome(exc, chat_id)
                if not isinstance(outcome, Done):
                    return outcome
            except (Forbidden, RetryAfter, NetworkError) as exc:
                outcome = self._outcome(exc, chat_id)
                if not isinstance(outcome, Done):
                    return outcome
        return Done()

    async def _order_changed_at(self, order_id: int) -> str:
        async with self._sessions() as session:
            row = await repos.get_order(session, order_id)
            return row.updated_at.isoformat() if row is not None else ""

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
