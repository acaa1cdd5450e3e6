"""Slot generation under hours, days off, Step, Buffer, Notice, Horizon and DST; reading owners' input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import booking_rules, slots
from bot.errors import UserError

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
EVERY_DAY = (slots.NINE_TO_SIX,) * 7


def labels(starts: list[datetime]) -> list[str]:
    return [start.strftime("%H:%M") for start in starts]


def week_of(spans: tuple[slots.Span, ...]) -> slots.Week:
    return (spans,) * 7


def test_default_week_is_monday_to_friday_nine_to_six() -> None:
    rules = slots.Rules(BERLIN, 60)
    friday, saturday, sunday = date(2027, 1, 8), date(2027, 1, 9), date(2027, 1, 10)
    assert labels(slots.day_starts(friday, rules))[:2] == ["09:00", "09:30"]
    assert slots.day_starts(saturday, rules) == [] and slots.day_starts(sunday, rules) == []


def test_several_intervals_step_counted_from_each_interval_start_and_meetings_end_inside() -> None:
    week = week_of(((9 * 60 + 10, 10 * 60 + 30), (13 * 60, 14 * 60)))
    rules = slots.Rules(NEW_YORK, 40, week=week, step_min=20)
    assert labels(slots.day_starts(date(2027, 2, 3), rules)) == ["09:10", "09:30", "09:50", "13:00", "13:20"]


def test_a_meeting_longer_than_every_interval_may_start_when_the_day_opens() -> None:
    rules = slots.Rules(BERLIN, 720, week=week_of(((9 * 60, 12 * 60), (13 * 60, 14 * 60))))
    assert labels(slots.day_starts(date(2027, 2, 3), rules)) == ["09:00"]
    two_hours = slots.Rules(BERLIN, 120, week=week_of(((9 * 60, 12 * 60), (13 * 60, 14 * 60))))
    assert labels(slots.day_starts(date(2027, 2, 3), two_hours)) == ["09:00", "09:30", "10:00"]
    assert slots.day_starts(date(2027, 2, 6), slots.Rules(BERLIN, 720)) == []  # a day off stays off


def test_an_interval_may_end_at_midnight() -> None:
    rules = slots.Rules(BERLIN, 60, week=week_of(((22 * 60, 24 * 60),)), step_min=60)
    assert labels(slots.day_starts(date(2027, 2, 3), rules)) == ["22:00", "23:00"]


def test_buffers_of_both_the_new_and_the_booked_meeting_keep_time_free() -> None:
    zone = ZoneInfo(BERLIN)
    day = date(2027, 2, 3)
    now = datetime(2027, 2, 1, tzinfo=UTC)
    # An order 11:00-12:00 whose service keeps 15 minutes after it: blocked until 12:15.
    busy = [(datetime(2027, 2, 3, 11, tzinfo=zone), datetime(2027, 2, 3, 12, 15, tzinfo=zone))]
    rules = slots.Rules(BERLIN, 45, week=EVERY_DAY, step_min=15, buffer_min=15)
    offered = labels(slots.free_starts(day, rules, busy, now))
    assert "10:00" in offered and "10:15" not in offered  # 10:15 + 45 + 15 reaches 11:15
    assert "12:00" not in offered and "12:15" in offered
    no_buffer = labels(
        slots.free_starts(day, slots.Rules(BERLIN, 45, week=EVERY_DAY, step_min=15), busy, now)
    )
    assert "10:15" in no_buffer


def test_notice_hides_starts_too_soon_and_is_checked_again_later() -> None:
    zone = ZoneInfo(NEW_YORK)
    now = datetime(2027, 2, 3, 9, 5, tzinfo=zone)
    rules = slots.Rules(NEW_YORK, 30, week=EVERY_DAY, notice_min=120)
    assert labels(slots.free_starts(now.date(), rules, [], now))[0] == "11:30"
    start = datetime(2027, 2, 3, 11, 30, tzinfo=zone)
    assert slots.is_offered(start, rules, now)
    assert slots.is_offered(start, rules, now + timedelta(minutes=25))
    assert not slots.is_offered(start, rules, now + timedelta(minutes=26))
    assert slots.Rules(NEW_YORK, 30, week=EVERY_DAY).for_owner().notice_min == 0


def test_horizon_and_days_off_limit_the_days() -> None:
    now = datetime(2027, 2, 3, 12, tzinfo=UTC)
    off = frozenset({date(2027, 2, 5)})
    rules = slots.Rules(BERLIN, 30, week=EVERY_DAY, horizon_days=7, days_off=off)
    days = slots.bookable_days(now, rules)
    assert days[0] == date(2027, 2, 3) and days[-1] == date(2027, 2, 9) and date(2027, 2, 5) not in days
    assert slots.free_starts(date(2027, 2, 5), rules, [], now) == []
    assert not slots.is_offered(datetime(2027, 2, 5, 10, tzinfo=ZoneInfo(BERLIN)), rules, now)
    assert not slots.is_offered(datetime(2027, 2, 10, 10, tzinfo=ZoneInfo(BERLIN)), rules, now)
    owner = rules.for_owner()
    assert slots.is_offered(datetime(2027, 4, 10, 10, tzinfo=ZoneInfo(BERLIN)), owner, now)


def test_horizon_days_are_counted_in_the_services_time_zone() -> None:
    now = datetime(2027, 2, 3, 23, 30, tzinfo=UTC)  # already Feb 4 in Berlin, still Feb 3 in New York
    assert slots.bookable_days(now, slots.Rules(BERLIN, 30, horizon_days=1)) == [date(2027, 2, 4)]
    assert slots.bookable_days(now, slots.Rules(NEW_YORK, 30, horizon_days=1)) == [date(2027, 2, 3)]


@pytest.mark.parametrize(
    ("zone", "day", "skipped"),
    [(BERLIN, date(2027, 3, 28), ["02:00", "02:30"]), (NEW_YORK, date(2027, 3, 14), ["02:00", "02:30"])],
)
def test_spring_forward_wall_times_that_do_not_exist_are_not_offered(
    zone: str, day: date, skipped: list[str]
) -> None:
    rules = slots.Rules(zone, 30, week=week_of(((0, 6 * 60),)))
    starts = slots.day_starts(day, rules)
    offered = labels(starts)
    assert offered == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "03:00",
        "03:30",
        "04:00",
        "04:30",
        "05:00",
        "05:30",
    ]
    assert not set(skipped) & set(offered)
    instants = [start.astimezone(UTC) for start in starts]
    assert instants == sorted(set(instants))
    # The meeting starting 01:30 ends at 03:00 local: exactly one hour of real time later than 01:30 + 30 min.
    assert starts[4].astimezone(UTC) - starts[3].astimezone(UTC) == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("zone", "day", "repeated_utc"),
    [
        (BERLIN, date(2027, 10, 31), {"02:00": (0, 0), "02:30": (0, 30)}),
        (NEW_YORK, date(2027, 11, 7), {"01:00": (5, 0), "01:30": (5, 30)}),
    ],
)
def test_fall_back_wall_times_that_exist_twice_are_offered_once(
    zone: str, day: date, repeated_utc: dict[str, tuple[int, int]]
) -> None:
    rules = slots.Rules(zone, 30, week=week_of(((0, 5 * 60),)))
    starts = slots.day_starts(day, rules)
    offered = labels(starts)
    assert offered == sorted(set(offered)) and len(offered) == 10  # 00:00 … 04:30, each once
    for label, (hour, minute) in repeated_utc.items():
        start = starts[offered.index(label)]
        assert (start.astimezone(UTC).hour, start.astimezone(UTC).minute) == (hour, minute)  # the first one
    now = datetime(day.year, day.month, day.day - 1, tzinfo=UTC)
    assert all(slots.is_offered(start, rules, now) for start in starts)
    later_twin = starts[offered.index(next(iter(repeated_utc)))].astimezone(UTC) + timedelta(hours=1)
    assert not slots.is_offered(later_twin, rules, now)


def test_a_busy_day_of_a_dst_change_keeps_wall_clock_hours() -> None:
    rules = slots.Rules(NEW_YORK, 60, week=EVERY_DAY)
    before, after = slots.day_starts(date(2027, 3, 13), rules), slots.day_starts(date(2027, 3, 15), rules)
    assert before[0].astimezone(UTC).hour == 14 and after[0].astimezone(UTC).hour == 13


def test_hours_in_one_message() -> None:
    days, spans = booking_rules.parse_hours("mon-fri 09:00-12:00 13:00-18:00")
    assert days == [0, 1, 2, 3, 4] and spans == ((540, 720), (780, 1080))
    assert booking_rules.parse_hours("sat off") == ([5], ())
    assert booking_rules.parse_hours("MON,wed,fri 10:00-14:00")[0] == [0, 2, 4]
    assert booking_rules.parse_hours("fri-mon 9:00-24:00") == ([0, 4, 5, 6], ((540, 1440),))
    week = booking_rules.with_days(slots.DEFAULT_WEEK, [5], ((600, 720),))
    assert "Sat: 10:00–12:00" in booking_rules.week_lines(week) and "Sun: off" in booking_rules.week_lines(
        week
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon 09:00-25:00", "<b>25:00</b> is not a time of day"),
        ("mon 24:00-24:30", "is not a time of day"),
        ("mon 09:60-10:00", "is not a time of day"),
        ("mon 18:00-09:00", "the end is not after the start"),
        ("mon 10:00-10:00", "the end is not after the start"),
        ("mon 09:00-12:00 11:00-13:00", "09:00–12:00 and 11:00–13:00 overlap"),
        ("monday 09:00-10:00", "I don't know the day <b>monday</b>"),
        ("mon-xyz 09:00-10:00", "I don't know the day"),
        ("mon 9to5", "is not an interval"),
        ("mon", "Send the days and their hours"),
        ("", "Send the days and their hours"),
    ],
)
def test_malformed_hours_are_refused_with_an_example(text: str, expected: str) -> None:
    with pytest.raises(UserError) as refused:
        booking_rules.parse_hours(text)
    assert expected in str(refused.value)
    assert "<code>/" in str(refused.value)


def test_days_off_ranges() -> None:
    today = date(2026, 12, 20)
    assert booking_rules.parse_away("2026-12-24", today) == (date(2026, 12, 24), date(2026, 12, 24))
    assert booking_rules.parse_away("2026-12-24..2027-01-02", today) == (date(2026, 12, 24), date(2027, 1, 2))
    assert booking_rules.parse_away("2026-12-20", today)[0] == today
    runs = booking_rules.day_ranges([date(2026, 12, 25), date(2026, 12, 24), date(2026, 12, 31)])
    assert runs == [(date(2026, 12, 24), date(2026, 12, 25)), (date(2026, 12, 31), date(2026, 12, 31))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-19", "2026-12-19 is in the past"),
        ("2027-12-21", "more than a year ahead"),
        ("2026-12-24..2028-01-01", "more than a year ahead"),
        ("2026-12-31..2026-12-24", "ends before it starts"),
        ("2026-13-01", "is not a date"),
        ("24.12.2026", "is not a date"),
        ("2026-12-24 2026-12-25", "one date or a range"),
    ],
)
def test_bad_days_off_are_refused(text: str, expected: str) -> None:
    with pytest.raises(UserError, match=expected):
        booking_rules.parse_away(text, date(2026, 12, 20))


def test_reminder_offsets() -> None:
    assert booking_rules.parse_reminders("24h 1h 15m") == [1440, 60, 15]
    assert booking_rules.parse_reminders("15m 7d 15m") == [10080, 15]
    assert booking_rules.parse_reminders("OFF") == []
    assert booking_rules.format_reminders([1440, 60, 15]) == "24h 1h 15m"
    assert booking_rules.format_reminders([]) == "off"
    for bad in ("0m", "8d", "1w", "soon", "", "1h 2h 3h 4h 5h 6h"):
        with pytest.raises(UserError, match="is not a reminder time"):
            booking_rules.parse_reminders(bad)
