"""Dates, times and durations for a language: day and month names and plural forms from the Unicode CLDR.

The names are Babel's (CLDR's), kept here as small tables: Babel's locale data costs about 5 MiB of memory
once loaded, for the dozen words a date needs. tests/unit/test_i18n_formatting.py compares every weekday,
month and a range of durations with Babel, so a Babel upgrade that changes a name fails there.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import NamedTuple
from zoneinfo import ZoneInfo


class Names(NamedTuple):
    weekdays: tuple[str, ...]  # abbreviated, Monday first (CLDR "format" context)
    months: tuple[str, ...]  # abbreviated, January first ("format" context)
    months_wide: tuple[str, ...]  # wide ("format" context: Russian's genitive, "1 декабря")


NAMES = {
    "en": Names(
        ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        (
            "January", "February", "March", "April", "May", "June",
            "July", "August", "September", "October", "November", "December",
        ),
    ),
    "ru": Names(
        ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
        ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."),
        (
            "января", "февраля", "марта", "апреля", "мая", "июня",
            "июля", "августа", "сентября", "октября", "ноября", "декабря",
        ),
    ),
}  # fmt: skip
# Russian minutes by CLDR's plural category of the count (integers: one, few, many).
RU_MINUTES = {"one": "минута", "few": "минуты", "many": "минут"}
NBSP = "\xa0"  # Russian's digit group separator


def _names(language: str) -> Names:
    return NAMES.get(language, NAMES["en"])


def format_when(language: str, moment: datetime, timezone: str, *, with_zone: bool = True) -> str:
    """`Tue 01 Dec 2026, 14:30 (Europe/Berlin)` / `вт, 1 декабря 2026, 14:30 (Europe/Berlin)`."""
    local = moment.astimezone(ZoneInfo(timezone))
    names = _names(language)
    weekday, clock = names.weekdays[local.weekday()], f"{local.hour:02d}:{local.minute:02d}"
    if language == "ru":
        text = f"{weekday}, {local.day} {names.months_wide[local.month - 1]} {local.year}, {clock}"
    else:
        text = f"{weekday} {local.day:02d} {names.months[local.month - 1]} {local.year}, {clock}"
    return f"{text} ({escape(timezone)})" if with_zone else text


def format_day(language: str, day: date) -> str:
    """A day label with the weekday and the day of the month: `Tue 01 Dec` / `вт, 1 дек.`."""
    names = _names(language)
    weekday, month = names.weekdays[day.weekday()], names.months[day.month - 1]
    return f"{weekday}, {day.day} {month}" if language == "ru" else f"{weekday} {day.day:02d} {month}"


def format_weekday(language: str, index: int) -> str:
    """A weekday's short name, Monday being 0: `Mon` / `пн`."""
    return _names(language).weekdays[index]


def russian_plural(count: int) -> str:
    """CLDR's plural category of a whole number in Russian: one (1, 21), few (2-4, 22), many (5-20, 0)."""
    n = abs(count)
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def format_minutes(language: str, minutes: int) -> str:
    """`90 min` in English; in Russian the full word in its plural form: `1 минута`, `2 минуты`, `5 минут`."""
    if language == "ru":
        return f"{minutes:,}".replace(",", NBSP) + " " + RU_MINUTES[russian_plural(minutes)]
    return f"{minutes:,} min"
