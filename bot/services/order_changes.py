"""Telling both parties what changed about an order, once, with the Join button."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import ACTIVE_STATUSES
from bot.i18n import Minutes, Text, When
from bot.jobs.outbox import Outbox
from storage.models import OrderRow, ServiceRow


def announced_values(row: OrderRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "start": row.start_at.isoformat(),
        "duration": row.duration_min,
        "join_url": row.join_url,
    }


def change_lines(row: OrderRow, before: dict[str, Any], meeting: bool) -> list[Text]:
    lines = []
    if before.get("start") != row.start_at.isoformat():
        old = datetime.fromisoformat(str(before["start"]))
        lines.append(
            Text(
                texts.CHANGED_RESCHEDULED,
                {"old": When(old, row.timezone), "new": When(row.start_at, row.timezone)},
            )
        )
    if before.get("name") != row.name:
        lines.append(
            Text(texts.CHANGED_NAME, {"old": escape(str(before.get("name"))), "new": escape(row.name)})
        )
    if before.get("duration") != row.duration_min:
        old_minutes = before.get("duration")
        old_value = Minutes(old_minutes) if isinstance(old_minutes, int) else str(old_minutes)
        lines.append(Text(texts.CHANGED_DURATION, {"old": old_value, "new": Minutes(row.duration_min)}))
    if lines and meeting and row.join_url:
        lines.append(Text(texts.CHANGED_MEETING_UPDATED))
    return lines


async def announce(session: AsyncSession, outbox: Outbox, row: OrderRow, *, meeting: bool) -> None:
    """Send both parties what changed since they were last told, and refresh the order cards."""
    before = row.announced or announced_values(row)
    lines = change_lines(row, before, meeting)
    new_link = bool(before.get("join_url")) and before.get("join_url") != row.join_url and row.join_url
    row.announced = announced_values(row)
    # A new order's owner card waits for the meeting: woken, it goes out as the order is now (or, sent
    # meanwhile, is brought up to date), so the owner's chat needs no refresh unless it shows the customer's
    # card too (an owner's own order).
    waiting = await outbox.wake_card(session, row.id, row.owner_id, "owner")
    alone = waiting and row.owner_id != row.customer_id
    await outbox.refresh_cards(session, row.id, skip=row.owner_id if alone else None)
    if not lines and not new_link:
        return
    service = await session.get(ServiceRow, row.service_id)
    header = Text(texts.CHANGED_HEADER, {"id": row.id, "service": escape(service.name if service else "")})
    body = [header, *lines]
    if new_link:
        body.append(Text(texts.NEW_MEETING_LINK, {"id": row.id}))
    message = Text(texts.LINES, {"lines": body})
    join_url = row.join_url if row.status in ACTIVE_STATUSES else None
    for chat_id in dict.fromkeys((row.customer_id, row.owner_id)):
        await outbox.send(session, chat_id, message, join_url=join_url, order_id=row.id)
