"""The texts users read, in their language: gettext catalogs through Babel, English texts as the keys.

Code keeps a text's key (a constant of `bot.texts`, whose value is the English text) and its values;
a message is rendered when it is sent, in its recipient's language. Handlers answer the person acting,
whose language `speaking` sets for the update; everything sent to someone else goes through a job that
renders it in that person's language.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime

from bot.i18n.catalogs import LANGUAGES, N_, SOURCE_LANGUAGE, Plural, pN_, translate
from bot.i18n.formatting import format_day, format_minutes, format_weekday, format_when
from bot.i18n.text import Day, Minutes, Text, Value, When, render_text

__all__ = [
    "LANGUAGES",
    "N_",
    "Day",
    "Minutes",
    "Plural",
    "Text",
    "Value",
    "When",
    "current",
    "day",
    "language_for",
    "minutes",
    "pN_",
    "render",
    "speaking",
    "t",
    "translate",
    "use",
    "weekday",
    "when",
]

_current: ContextVar[str] = ContextVar("language", default=SOURCE_LANGUAGE)


def language_for(chosen: str | None, language_code: str | None) -> str:
    """The user's choice if any, else Russian for a Telegram `language_code` starting with `ru`."""
    if chosen in LANGUAGES:
        return str(chosen)
    return "ru" if (language_code or "").lower().startswith("ru") else SOURCE_LANGUAGE


def render(language: str, key: str | Plural | Text, **values: Value) -> str:
    """The text in `language` with its values put in (nested texts, dates and durations included)."""
    if isinstance(key, Text):
        return key.render(language)
    return render_text(language, key, values)


def current() -> str:
    """The language of whoever is being answered now (set by `speaking`)."""
    return _current.get()


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Render in `language` inside this block."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def use(language: str) -> None:
    """Render in `language` from now on in this task (for the whole handling of one update)."""
    _current.set(language)


def t(key: str | Plural | Text, **values: Value) -> str:
    """`render` in the current language."""
    return render(current(), key, **values)


def when(moment: datetime, timezone: str, *, with_zone: bool = True) -> str:
    return format_when(current(), moment, timezone, with_zone=with_zone)


def day(value: date) -> str:
    return format_day(current(), value)


def weekday(index: int) -> str:
    """The short name of a weekday (Monday 0) in the current language."""
    return format_weekday(current(), index)


def minutes(count: int) -> str:
    return format_minutes(current(), count)
