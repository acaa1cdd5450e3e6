"""bot/slots.py reads the days and wall times of button data by slicing instead of strptime: it must give
what strptime gave for every value, forged ones included, and refuse what it refused (the same answer for
forged button data)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import slots

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Kiritimati",
    "../etc",
    "No/Zone",
]


def parse_day_before(value: str | None) -> date | None:
    try:
        return datetime.strptime(value or "", "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        return None


def parse_local_before(value: str | None, timezone: str) -> datetime | None:
    try:
        naive = datetime.strptime(value or "", "%Y%m%d%H%M")  # noqa: DTZ007 - the service's wall time
    except ValueError:
        return None
    try:
        return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))
    except OverflowError:
        return None


def outcome(parse: object, *args: object) -> tuple[object, object]:
    """What a call gives (the value and its tzinfo) or raises (the exception's type)."""
    try:
        value = parse(*args)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the exception's type is the outcome compared
        return "raised", type(exc)
    return value, getattr(value, "tzinfo", None)


def digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


def written(moment: datetime, count: int) -> str:
    """As the bot writes a day (8) or a wall time (12) into button data."""
    text = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}{moment.hour:02d}{moment.minute:02d}"
    return text[:count]


near_digits = st.text(alphabet="0123456789 +-٣", max_size=14)  # lengths around both, a space, an Arabic 3
values = st.one_of(st.none(), st.text(max_size=14), near_digits, digits(8), digits(12))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(values, st.datetimes().map(lambda moment: written(moment, 8))))
@example("20261130")
@example("20260229")
@example("00001231")
@example("2026113")
@example("2026 1 1")
@example("٢٠٢٦١١٣٠")
def test_a_day_is_read_as_strptime_read_it(value: str | None) -> None:
    assert outcome(slots.parse_day, value) == outcome(parse_day_before, value)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(values, st.datetimes().map(lambda moment: written(moment, 12))),
    st.sampled_from(ZONES),
)
@example("202611301430", "Europe/Berlin")
@example("202703280230", "Europe/Berlin")  # a wall time that does not exist
@example("000101010000", "Asia/Kathmandu")  # shifted before year 1
@example("999912312359", "America/St_Johns")  # shifted beyond year 9999
@example("202611302400", "UTC")
@example("202611301460", "UTC")
@example("20261130143", "UTC")
@example("202611301430", "../etc")
@example("x", "../etc")
def test_a_wall_time_is_read_as_strptime_read_it(value: str | None, zone: str) -> None:
    assert outcome(slots.parse_local, value, zone) == outcome(parse_local_before, value, zone)


@settings(max_examples=1000, deadline=None)
@given(st.datetimes(timezones=st.none() | st.sampled_from([UTC, ZoneInfo("Asia/Kathmandu")])))
@example(datetime(999, 1, 2, 3, 4, tzinfo=UTC))
def test_days_and_wall_times_are_written_as_strftime_wrote_them_and_read_back(moment: datetime) -> None:
    day = moment.date()
    assert slots.day_data(day) == day.strftime("%Y%m%d")
    assert slots.local_data(moment) == moment.strftime("%Y%m%d%H%M")
    if moment.year >= 1000:  # the bot's days (from today to its horizon) read back as they were
        assert slots.parse_day(slots.day_data(day)) == day
        wall = moment.replace(second=0, microsecond=0, tzinfo=None)
        assert slots.parse_local(slots.local_data(moment), "UTC") == wall.replace(tzinfo=ZoneInfo("UTC"))
