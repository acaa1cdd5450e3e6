"""storage.models.UtcDateTime writes an instant to SQLite in one function: the text must be the one
SQLAlchemy's two chained processors (the type's, then SQLite's DATETIME's) wrote, for any instant in any
zone, and read back as the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from storage.models import UtcDateTime

SQLITE = sqlite.dialect()
ZONES = st.sampled_from(
    [UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/St_Johns"), timezone(timedelta(hours=5, minutes=45))]
)
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis's bounds are naive
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=ZONES,
)


def chained(value: datetime | None) -> str | None:
    """What SQLAlchemy's own TypeDecorator composition writes (the type as adapted to SQLite, as a statement
    runs it)."""
    adapted: Any = UtcDateTime().dialect_impl(SQLITE)
    process = TypeDecorator.bind_processor(adapted, SQLITE)
    assert process is not None
    return process(value)  # type: ignore[no-any-return]


@settings(max_examples=400, deadline=None)
@given(INSTANTS)
@example(datetime(2027, 3, 28, 0, 59, 59, 999999, tzinfo=UTC))  # Berlin's spring forward, an instant before
@example(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")))  # the repeated hour
def test_sqlite_gets_the_text_sqlalchemy_wrote_and_reads_back_the_instant(value: datetime) -> None:
    process = UtcDateTime()._cached_bind_processor(SQLITE)
    assert process is not None
    written = process(value)
    assert written == chained(value)
    read = UtcDateTime()._cached_result_processor(SQLITE, None)
    assert read is not None and read(written) == value.astimezone(UTC)  # (fold=1 never equals across zones)


def test_nothing_and_naive_instants_as_before() -> None:
    process = UtcDateTime()._cached_bind_processor(SQLITE)
    assert process is not None
    assert process(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        process(datetime(2031, 1, 1, 12, 0))  # noqa: DTZ001 - the naive instant refused


def test_other_databases_and_formats_keep_sqlalchemys_chain() -> None:
    moment = datetime(2031, 1, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    on_postgresql = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
    process = UtcDateTime()._cached_bind_processor(on_postgresql)
    assert process is None or process(moment) == moment.astimezone(UTC)
    seconds_only = sqlite.DATETIME(truncate_microseconds=True)  # type: ignore[no-untyped-call]

    class Truncated(UtcDateTime):
        impl = seconds_only
        cache_ok = True

    truncated = Truncated()._cached_bind_processor(SQLITE)
    assert truncated is not None and truncated(moment) == "2031-01-01 03:00:00"
