"""Dates, times and durations for a language, with Babel (day and month names, plural forms)."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.units import format_unit

MOMENT = {"en": "EEE dd MMM y, HH:mm", "ru": "EEE, d MMMM y, HH:mm"}
DAY = {"en": "EEE dd MMM", "ru": "EEE, d MMM"}


def format_when(language: str, moment: datetime, timezone: str, *, with_zone: bool = True) -> str:
    """`Tue 01 Dec 2026, 14:30 (Europe/Berlin)` / `вт, 1 декабря 2026, 14:30 (Europe/Berlin)`."""
    local = moment.astimezone(ZoneInfo(timezone))
    text = format_datetime(local, MOMENT.get(language, MOMENT["en"]), locale=language)
    return f"{text} ({escape(timezone)})" if with_zone else text


def format_day(language: str, day: date) -> str:
    """A day label with the weekday and the day of the month: `Tue 01 Dec` / `вт, 1 дек.`."""
    return format_date(day, DAY.get(language, DAY["en"]), locale=language)


def format_minutes(language: str, minutes: int) -> str:
    """`90 min` in English; in Russian the full word in its plural form: `1 минута`, `2 минуты`, `5 минут`."""
    if language == "en":
        return format_unit(minutes, "duration-minute", length="short", locale=language)
    return format_unit(minutes, "duration-minute", length="long", locale=language)
