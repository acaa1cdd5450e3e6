"""The reminder journey: an order that starts soon at any hour, and reminder offsets that fire soon.

Offered starts are 09:00–18:00 every 30 minutes in the service's time zone, so the tests pick the time
zone in which an offered start comes soonest (a few minutes ahead, whatever the hour here). The bot runs
with the settings `REMINDER_SETTINGS`: one minute of a service's reminder offsets lasts `MINUTE` seconds
(`QUICK_MINUTES`), and a test sets the offsets (the column `services.reminder_minutes`, which owners edit
in the service's Settings) to fire within seconds of the test's own timeline; the job worker looks for due
jobs five times a second, so a reminder goes out within a fifth of a second of its time instead of within
a second.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.services.reminders import MAX_OFFSET_MINUTES
from sandbox.harness import Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.journeys import (
    Shop,
    confirm,
    connect_zoom,
    create_service,
    has_join,
    join_url,
    person,
    reach_summary,
)
from tests.support.waiting import eventually

OPENING, LAST_START = time(9, 0), time(17, 30)  # a 30-minute service
STEP = timedelta(minutes=30)
REMINDER = "Reminder"
# Half a second: fine enough for reminders a few seconds apart, coarse enough that the offsets for an order
# up to ~21 minutes ahead, and for a start 30 minutes after it, stay within the 7 days (10080 minutes) a
# service may remind before (a longer one is ignored).
MINUTE = 0.5
QUICK_MINUTES = {"REMINDER_MINUTE_SECONDS": str(MINUTE)}
REMINDER_SETTINGS = {**QUICK_MINUTES, "WORKER_POLL_SECONDS": "0.2"}


@dataclass(frozen=True)
class SoonSlot:
    zone: str
    start: datetime  # UTC
    day_label: str  # as the days keyboard shows it
    time_label: str  # HH:MM in the zone


def next_start(zone: str, after: datetime, last_start: time = LAST_START) -> datetime | None:
    """The first offered start (up to `last_start`) of a 30-minute service in `zone` after `after`."""
    local = after.astimezone(ZoneInfo(zone))
    candidate = local.replace(minute=0, second=0, microsecond=0)
    while candidate <= local:
        candidate += STEP
    if candidate.date() != local.date() or not OPENING <= candidate.time() <= last_start:
        return None
    return candidate.astimezone(UTC)


def soon_slot(lead: timedelta = timedelta(minutes=6), last_start: time = LAST_START) -> SoonSlot:
    """The zone and start of the soonest offered start at least `lead` from now (at most ~21 min away)."""
    earliest = datetime.now(UTC) + lead
    best: tuple[datetime, str] | None = None
    for zone in sorted(available_timezones()):
        if "/" not in zone or zone.startswith(("Etc/", "SystemV/", "US/")):
            continue
        start = next_start(zone, earliest, last_start)
        if start is not None and (best is None or start < best[0]):
            best = (start, zone)
    if best is None:
        raise AssertionError("no time zone has an offered start soon")  # impossible: zones span the day
    start, zone = best
    local = start.astimezone(ZoneInfo(zone))
    return SoonSlot(zone, start, local.strftime("%a %d %b"), local.strftime("%H:%M"))


def set_reminders(database_url: str, seconds_from_now: list[float], start: datetime) -> list[datetime]:
    """Give every service offsets (in the tests' `MINUTE`-second minutes) that fire `seconds_from_now` from
    now (or up to one such minute later, never earlier).

    Returns when each reminder of an order starting at `start` is due, earliest first.
    """
    left = (start - datetime.now(UTC)).total_seconds()
    offsets = sorted((math.floor((left - seconds) / MINUTE) for seconds in seconds_from_now), reverse=True)
    assert all(0 < offset <= MAX_OFFSET_MINUTES for offset in offsets), offsets

    async def write() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE services SET reminder_minutes = :value"), {"value": json.dumps(offsets)}
                )
        finally:
            await engine.dispose()

    asyncio.run(write())
    return [start - timedelta(seconds=offset * MINUTE) for offset in offsets]


def reminders(chat: TelegramUser, order: int | None = None) -> list[SentMessage]:
    found = [m for m in chat.bot_messages() if m.text.startswith(f"⏰ {REMINDER}")]
    return [m for m in found if order is None or f"Order #{order} " in m.text]


def wait_for_reminders(chat: TelegramUser, count: int, timeout: float, order: int | None = None) -> None:
    """Until the chat holds `count` reminders (of the order), whatever the person did meanwhile."""
    try:
        eventually(lambda: len(reminders(chat, order)) >= count, timeout, f"{count} reminder(s)")
    except AssertionError as missing:
        raise AssertionError(f"{missing}; the chat:\n{chat.transcript()}") from None


def summary_at(customer: TelegramUser, code: str, slot: SoonSlot) -> SentMessage:
    """The customer orders the soon slot of the service `code` up to the summary (not confirmed yet)."""
    return reach_summary(customer, code, day_label=slot.day_label, time_label=slot.time_label)


def soon_service(sandbox: Sandbox, slot: SoonSlot) -> Shop:
    """Olivia (user 11) works around the clock in the slot's time zone and offers a 30-minute Session."""
    owner = person(sandbox, 11, "Olivia")
    # Whatever weekday it is there, the soon slot is offered.
    return create_service(owner, 30, "Session", zone=slot.zone, hours="mon-sun 00:00-24:00")


@dataclass(frozen=True)
class SoonOrder:
    owner: TelegramUser
    customer: TelegramUser
    slot: SoonSlot
    card: SentMessage  # the customer's order message
    link: str  # its Join link
    due: list[datetime]  # when each reminder is due, earliest first


def soon_zoom_order(sandbox: Sandbox, database_url: str, seconds_from_now: list[float]) -> SoonOrder:
    """Carl (user 22) orders the soon slot of Olivia's Zoom service; its reminders fire `seconds_from_now`
    from the moment the offsets are set (just before he confirms)."""
    slot = soon_slot()
    shop = soon_service(sandbox, slot)
    customer = person(sandbox, 22, "Carl")
    connect_zoom(sandbox, shop)
    summary = summary_at(customer, shop.code, slot)
    due = set_reminders(database_url, seconds_from_now, slot.start)
    card = confirm(customer, summary)
    link = join_url(customer.wait_for(lambda m: m.message_id == card.message_id and has_join(m), 20))
    assert link
    return SoonOrder(shop.owner, customer, slot, card, link, due)
