"""Slots offered across the 2027 daylight-saving changes in Europe and the US, with a fixed "now".

Each expected start is computed with zoneinfo from its wall time, independently of bot/slots.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import slots

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
NIGHT = ((0, 6 * 60),)  # 00:00–06:00 every day: covers the 02:00–03:00 wall times of every change
CHANGES = [
    pytest.param(BERLIN, date(2027, 3, 28), id="berlin-spring-forward"),
    pytest.param(BERLIN, date(2027, 10, 31), id="berlin-fall-back"),
    pytest.param(NEW_YORK, date(2027, 3, 14), id="new-york-spring-forward"),
    pytest.param(NEW_YORK, date(2027, 11, 7), id="new-york-fall-back"),
]


def wall_exists(day: date, minutes: int, zone: ZoneInfo) -> bool:
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def expected_starts(day: date, zone: ZoneInfo, step: int, duration: int) -> list[datetime]:
    """Existing wall times of 00:00–06:00 in steps, at their first occurrence, whose meeting ends by 06:00."""
    midnight = datetime.combine(day, time(), tzinfo=zone)
    closing = datetime.combine(day, time(6), tzinfo=zone).astimezone(UTC)
    walls = [midnight + timedelta(minutes=m) for m in range(0, 6 * 60, step)]
    starts = [
        wall.astimezone(UTC)
        for wall in walls
        if wall_exists(day, wall.hour * 60 + wall.minute, zone)
        and wall.astimezone(UTC) + timedelta(minutes=duration) <= closing
    ]
    return sorted(set(starts))


@pytest.mark.parametrize(("zone_name", "day"), CHANGES)
@pytest.mark.parametrize(("step", "duration"), [(30, 30), (15, 60), (60, 90)])
def test_each_offered_start_exists_once_at_the_instant_zoneinfo_gives(
    zone_name: str, day: date, step: int, duration: int
) -> None:
    zone = ZoneInfo(zone_name)
    rules = slots.Rules(zone_name, duration, week=(NIGHT,) * 7, step_min=step)
    now = datetime.combine(day - timedelta(days=3), time(12), tzinfo=zone)
    offered = slots.free_starts(day, rules, [], now)
    instants = [start.astimezone(UTC) for start in offered]
    assert instants == expected_starts(day, zone, step, duration)
    assert len(set(instants)) == len(instants)
    labels = [start.astimezone(zone).strftime("%H:%M") for start in offered]
    assert len(set(labels)) == len(labels)  # no wall time offered twice (fall back)
    for start in offered:
        local = start.astimezone(zone)
        assert wall_exists(day, local.hour * 60 + local.minute, zone)  # none at a skipped wall time
        assert local.date() == day
        assert slots.is_offered(start, rules, now)


@pytest.mark.parametrize(("zone_name", "day"), CHANGES)
def test_no_instant_is_offered_twice_over_a_horizon_that_spans_the_change(zone_name: str, day: date) -> None:
    rules = slots.Rules(zone_name, 30, week=(NIGHT,) * 7, horizon_days=7)
    now = datetime.combine(day - timedelta(days=3), time(12), tzinfo=ZoneInfo(zone_name))
    days = slots.bookable_days(now, rules)
    assert day in days
    instants = [start.astimezone(UTC) for d in days for start in slots.free_starts(d, rules, [], now)]
    assert instants == sorted(set(instants))
    # Today's night has passed; every other ordinary day offers the twelve half hours 00:00–05:30.
    assert len(instants) == 12 * (len(days) - 2) + len(expected_starts(day, ZoneInfo(zone_name), 30, 30))


@pytest.mark.parametrize(("zone_name", "day"), CHANGES)
def test_notice_counted_in_real_time_across_the_change(zone_name: str, day: date) -> None:
    zone = ZoneInfo(zone_name)
    rules = slots.Rules(zone_name, 30, week=(NIGHT,) * 7, notice_min=60)
    # 01:15 exists on every change day (fold=0: the first of two in New York's fall back).
    now = datetime.combine(day, time(1, 15), tzinfo=zone)
    offered = [start.astimezone(UTC) for start in slots.free_starts(day, rules, [], now)]
    earliest = now.astimezone(UTC) + timedelta(hours=1)
    assert offered == [start for start in expected_starts(day, zone, 30, 30) if start >= earliest]


@pytest.mark.parametrize(("zone_name", "day"), CHANGES)
@pytest.mark.parametrize("duration", [30, 90, 600])  # 600: longer than the night, only its opening offered
@pytest.mark.parametrize("notice", [0, 120])
def test_a_day_has_a_free_start_exactly_when_its_free_starts_are_listed(
    zone_name: str, day: date, duration: int, notice: int
) -> None:
    zone = ZoneInfo(zone_name)
    rules = slots.Rules(
        zone_name, duration, week=(NIGHT,) * 7, step_min=30, notice_min=notice, horizon_days=3
    )
    midnight = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    nows = [
        midnight - timedelta(hours=1),
        midnight + timedelta(hours=2),
        midnight + timedelta(hours=5, minutes=50),
    ]
    # Nothing busy, the early night busy, the whole night busy, and only the last start free.
    busy_cases: list[list[slots.Interval]] = [
        [],
        [(midnight, midnight + timedelta(hours=3))],
        [(midnight - timedelta(hours=1), midnight + timedelta(hours=7))],
        [
            (
                midnight - timedelta(hours=1),
                midnight + timedelta(hours=5, minutes=30) - timedelta(minutes=duration),
            )
        ],
    ]
    for now in nows:
        for busy in busy_cases:
            listed = slots.free_starts(day, rules, busy, now)
            assert slots.has_free_start(day, rules, busy, now) == bool(listed), (now, busy, listed)
