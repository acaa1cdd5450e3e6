"""Which days and start times can be booked: pure functions of time, the service and busy intervals."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BOOKABLE_DAYS = 14
MAX_DAYS_AHEAD = 90
DAY_START = time(9, 0)
DAY_END = time(18, 0)
STEP = timedelta(minutes=30)

Interval = tuple[datetime, datetime]


def bookable_days(now: datetime, timezone: str, count: int = BOOKABLE_DAYS) -> list[date]:
    today = now.astimezone(ZoneInfo(timezone)).date()
    return [today + timedelta(days=offset) for offset in range(count)]


def day_starts(day: date, timezone: str, duration_min: int) -> list[datetime]:
    """Every start on `day` (aware, in the service's zone) from 09:00 whose end is no later than 18:00."""
    zone = ZoneInfo(timezone)
    opening = datetime.combine(day, DAY_START)
    closing = datetime.combine(day, DAY_END)
    length = timedelta(minutes=duration_min)
    # A service longer than the working day can still start at opening time.
    last = max(closing - length, opening)
    starts = []
    wall = opening
    while wall <= last:
        starts.append(wall.replace(tzinfo=zone))
        wall += STEP
    return starts


def overlaps(start: datetime, end: datetime, busy: Iterable[Interval]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in busy)


def free_starts(
    day: date, timezone: str, duration_min: int, busy: Iterable[Interval], now: datetime
) -> list[datetime]:
    """Starts on `day` that are in the future and overlap nothing busy."""
    busy = list(busy)
    length = timedelta(minutes=duration_min)
    return [
        start
        for start in day_starts(day, timezone, duration_min)
        if start > now and not overlaps(start, start + length, busy)
    ]


def is_offered(start: datetime, timezone: str, duration_min: int, now: datetime) -> bool:
    """Whether `start` is one of the starts the bot offers (used to refuse forged button data)."""
    local = start.astimezone(ZoneInfo(timezone))
    if start <= now or local.date() not in bookable_days(now, timezone):  # only the days offered
        return False
    return any(candidate == local for candidate in day_starts(local.date(), timezone, duration_min))
