"""Orders as iCalendar (RFC 5545) events, built with the `icalendar` library.

Instants are in UTC (never floating). `UID` is stable per order; `SEQUENCE` is the order's version less one,
so it grows with every change, a cancel included. The join URL is the only meeting link ever written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from bot import i18n, texts

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//Zoom booking bot//Orders//EN"
END = b"END:VCALENDAR\r\n"
# Serialized events by their full content: a feed refresh re-serializes only orders that changed.
CACHED_EVENTS = 50_000
CLOSED = ("cancelled", "rejected")
STATUS = {"new": "TENTATIVE", "confirmed": "CONFIRMED", "done": "CONFIRMED"}


@dataclass(frozen=True)
class CalendarEntry:
    """What an event shows of one order."""

    order_id: int
    name: str
    service_name: str
    start_at: datetime
    end_at: datetime
    status: str
    version: int
    join_url: str | None
    updated_at: datetime


def order_uid(order_id: int, domain: str) -> str:
    return f"order-{order_id}@{domain}"


def event_of(entry: CalendarEntry, domain: str, language: str) -> Event:
    from icalendar import Event  # imported when a calendar is first served, not in every bot process

    event = Event()
    event.add("uid", order_uid(entry.order_id, domain))
    event.add("dtstamp", entry.updated_at)
    event.add("sequence", max(0, entry.version - 1))
    event.add("dtstart", entry.start_at)
    event.add("dtend", entry.end_at)
    event.add("summary", entry.name)
    event.add("status", "CANCELLED" if entry.status in CLOSED else STATUS.get(entry.status, "CONFIRMED"))
    join_url = entry.join_url if entry.status not in CLOSED else None
    if join_url:
        event.add("url", join_url)
        event.add("location", join_url)
        description = i18n.render(
            language,
            texts.CALENDAR_EVENT_DESCRIPTION,
            id=entry.order_id,
            service=entry.service_name,
            join_url=join_url,
        )
    else:
        description = i18n.render(
            language,
            texts.CALENDAR_EVENT_DESCRIPTION_NO_MEETING,
            id=entry.order_id,
            service=entry.service_name,
        )
    event.add("description", description)
    return event


@lru_cache(maxsize=CACHED_EVENTS)
def event_bytes(entry: CalendarEntry, domain: str, language: str) -> bytes:
    return bytes(event_of(entry, domain, language).to_ical())


@lru_cache(maxsize=8)
def _envelope(feed: bool, language: str) -> tuple[bytes, bytes]:
    """The calendar's own lines before its events, and after them."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if feed:
        calendar.add("x-wr-calname", i18n.render(language, texts.CALENDAR_NAME))
    whole = bytes(calendar.to_ical())
    return whole.removesuffix(END), END


def calendar_of(entries: Iterable[CalendarEntry], domain: str, language: str, *, feed: bool) -> bytes:
    """An iCalendar stream of the entries in the reader's language: one order's file, or a whole feed."""
    head, tail = _envelope(feed, language)
    return head + b"".join(event_bytes(entry, domain, language) for entry in entries) + tail
