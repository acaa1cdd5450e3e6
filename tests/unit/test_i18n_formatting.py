"""The date and duration formatting's own tables say what Babel (the CLDR) says, every weekday and month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import babel.localedata
import pytest
from babel.dates import format_date, format_datetime, get_day_names
from babel.units import format_unit

from bot.i18n.formatting import format_day, format_minutes, format_weekday, format_when

MOMENT = {"en": "EEE dd MMM y, HH:mm", "ru": "EEE, d MMMM y, HH:mm"}  # the patterns the tables replace
DAY = {"en": "EEE dd MMM", "ru": "EEE, d MMM"}
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_days_weekdays_and_moments_match_babel(language: str) -> None:
    from zoneinfo import ZoneInfo

    first = date(2027, 1, 1)
    for offset in range(0, 366 + 365):  # two years: every weekday of every month
        day = first + timedelta(days=offset)
        assert format_day(language, day) == format_date(day, DAY[language], locale=language)
        moment = datetime(day.year, day.month, day.day, offset % 24, (offset * 7) % 60, tzinfo=UTC)
        zone = ZONES[offset % len(ZONES)]
        expected = format_datetime(moment.astimezone(ZoneInfo(zone)), MOMENT[language], locale=language)
        assert format_when(language, moment, zone) == f"{expected} ({zone})"
        assert format_when(language, moment, zone, with_zone=False) == expected
    names = get_day_names("abbreviated", locale=language)
    assert [format_weekday(language, index) for index in range(7)] == [names[index] for index in range(7)]


@pytest.mark.parametrize(("language", "length"), [("en", "short"), ("ru", "long")])
def test_minutes_match_babel(language: str, length: str) -> None:
    for count in [*range(-3, 3000), 10_000, 12_345, 100_000, 1_234_567]:
        expected = format_unit(count, "duration-minute", length=length, locale=language)
        assert format_minutes(language, count) == expected, count


def test_formatting_loads_no_locale_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Babel's locale data is about 5 MiB once loaded; the bot formats without it (issue 13)."""
    loaded: list[str] = []
    real_load = babel.localedata.load

    def load(name: str, merge_inherited: bool = True) -> Any:
        loaded.append(name)
        return real_load(name, merge_inherited)

    monkeypatch.setattr(babel.localedata, "load", load)
    for language in ("en", "ru", "de"):
        format_when(language, datetime(2027, 3, 1, 9, 30, tzinfo=UTC), "Europe/Berlin")
        format_day(language, date(2027, 3, 1))
        format_weekday(language, 6)
        format_minutes(language, 21)
    assert loaded == []
