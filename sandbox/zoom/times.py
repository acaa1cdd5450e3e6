"""Zoom's time formats and `start_time` rules (reference §2.1); the clock is `sandbox.clock`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Zoom documents `yyyy-MM-ddTHH:mm:ss[Z]`; fractions and offsets show up in the wild, so they parse too.
_START_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def zoom_time(moment: datetime) -> str:
    """Format an aware datetime the way Zoom returns times: `2025-03-25T07:29:29Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zoom_time_ms(moment: datetime) -> str:
    """Format with milliseconds, as in `deauthorization_time`: `2019-06-17T13:52:28.632Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def load_timezone(name: str) -> ZoneInfo:
    """Return the IANA zone called `name`; ValueError when Zoom would not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def parse_start_time(text: str, zone: ZoneInfo) -> datetime:
    """Read a `start_time` like Zoom: `Z` is UTC, no suffix is local time in `zone`.

    An explicit offset such as `+02:00` is dropped and the wall-clock time is read as UTC: that is what
    Zoom was observed to do (reference §2.1, calcom PR #3238), and why clients must never send offsets.
    """
    match = _START_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"unparseable start_time {text!r}")
    wall = datetime.fromisoformat(match.group(1))
    if match.group(2) is None:
        return wall.replace(tzinfo=zone).astimezone(UTC)
    return wall.replace(tzinfo=UTC)


def next_utc_midnight(moment: datetime) -> datetime:
    """The next 00:00 UTC after `moment`: when the per-user daily limit resets."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC) + timedelta(days=1)


def http_date(moment: datetime) -> str:
    """Format as an HTTP-date: `Sun, 31 May 2020 00:00:00 GMT`."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
