"""Reminders before an order's start: planned as jobs in the order's own transaction, rendered when sent.

Each reminder is one job per chat and offset, keyed by the start it was planned for: a reschedule retires
the old jobs and plans new keys, and a job that finds the order moved, closed or already started sends
nothing. A reminder overtaken by the next one (both missed while the bot was down) is not sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n
from bot.domain import ACTIVE_STATUSES, Order, utcnow
from bot.jobs.outbox import Outbox
from bot.jobs.worker import Done, Fail, Job, Outcome
from bot.services.convert import order_value
from storage import repos
from storage.models import OrderRow, ServiceRow


class Sender(Protocol):
    """Sends a reminder of an order into a chat, rendered there (`Delivery` in the running bot)."""

    async def remind(self, job: Job, chat_id: int, order: Order) -> Outcome: ...


REMINDER = "reminder"
MAX_OFFSET_MINUTES = 7 * 24 * 60


def offsets(value: object) -> list[int]:
    """The usable offsets of a stored list, largest first; anything malformed plans no reminder."""
    if not isinstance(value, list):
        return []
    valid = {m for m in value if type(m) is int and 0 < m <= MAX_OFFSET_MINUTES}
    return sorted(valid, reverse=True)


def reminder_key(order_id: int, chat_id: int, minutes: int, start: datetime) -> str:
    return f"reminder:{order_id}:{chat_id}:{minutes}:{int(start.timestamp())}"


async def stop_reminders(session: AsyncSession, order_id: int) -> None:
    """No reminder of this order that has not gone out yet will go out."""
    await repos.stop_jobs(session, order_id, REMINDER, utcnow())


async def plan_reminders(
    session: AsyncSession, outbox: Outbox, row: OrderRow, *, placed: bool = False
) -> None:
    """Replace the order's planned reminders with ones for its current start (in the caller's transaction).
    `placed`: the order is being placed in this transaction, so it has none to replace yet."""
    now = utcnow()
    if not placed:
        await stop_reminders(session, row.id)
    if row.status not in ACTIVE_STATUSES:
        return
    service = await session.get(ServiceRow, row.service_id)
    dues = [
        (minutes, row.start_at - minutes * outbox.reminder_minute)
        for minutes in offsets(service.reminder_minutes if service else None)
    ]
    jobs = []
    for index, (minutes, due) in enumerate(dues):
        if due <= now:
            continue  # its time had passed when the order was placed or moved: skipped
        payload = {"start": row.start_at.isoformat(), "minutes": minutes}
        if index + 1 < len(dues):
            payload["next_due"] = dues[index + 1][1].isoformat()
        for chat_id in dict.fromkeys((row.customer_id, row.owner_id)):
            key = reminder_key(row.id, chat_id, minutes, row.start_at)
            jobs.append((key, due - now, {**payload, "chat_id": chat_id}))
    # Every reminder queued here is due later (past ones are skipped): the worker's regular look finds it,
    # and waking it now would only make it look in vain.
    await repos.enqueue_many(session, REMINDER, now, jobs, order_id=row.id)


class Reminders:
    """Runs reminder jobs."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], delivery: Sender) -> None:
        self._sessions = sessions
        self._delivery = delivery

    async def run(self, job: Job) -> Outcome:
        if job.order_id is None or "chat_id" not in job.payload:
            return Fail("reminder without an order or chat")
        chat_id = int(job.payload["chat_id"])
        due = await self._still_due(job, job.order_id, chat_id)
        if due is None:
            return Done()
        order, language = due
        # Rendered now, in the recipient's language (private chats: the chat id is the user id).
        with i18n.speaking(language):
            return await self._delivery.remind(job, chat_id, order)

    async def _still_due(self, job: Job, order_id: int, chat_id: int) -> tuple[Order, str] | None:
        """The order, if this reminder is still wanted now, and the chat's language (one statement)."""
        now = utcnow()
        next_due = job.payload.get("next_due")
        if next_due and now >= datetime.fromisoformat(str(next_due)):
            return None  # overtaken by the next reminder (the bot was down for both)
        async with self._sessions() as session:
            row = await repos.order_card_parts(session, order_id, chat_id, None)
        if row is None or row.status not in ACTIVE_STATUSES or now >= row.start_at:
            return None
        if row.start_at != datetime.fromisoformat(str(job.payload.get("start"))):
            return None  # planned for a start the order no longer has
        return order_value(row), i18n.language_for(row.language, row.language_code)
