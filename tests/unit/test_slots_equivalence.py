"""bot/slots.py counts a day's starts once (cached) and checks them against busy intervals sorted once; the
code before it counted the starts for every question and scanned every busy interval for every start. Both
must give the same days, starts and answers for any rules, busy intervals and `now`: `Reference` below is
that earlier code, kept verbatim, and the properties compare the two on generated inputs (daylight-saving
changes of several zones, odd steps, overlapping and empty intervals, busy times at other offsets).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import slots
from bot.slots import Interval, Rules


class Reference:
    """bot/slots.py's functions as they were before the cache and the sorted busy intervals."""

    @staticmethod
    def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime | None:
        wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
        aware = wall.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            return None
        return aware

    @staticmethod
    def _end_instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
        wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
        return min(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))

    @classmethod
    def day_starts(cls, day: date, rules: Rules) -> list[datetime]:
        starts: dict[datetime, datetime] = {}
        for start in cls._starts(day, rules):
            starts.setdefault(start.astimezone(UTC), start)
        return [starts[instant] for instant in sorted(starts)]

    @classmethod
    def _starts(cls, day: date, rules: Rules) -> Iterator[datetime]:
        zone = ZoneInfo(rules.timezone)
        length = timedelta(minutes=rules.duration_min)
        found = False
        for opening, closing in rules.week[day.weekday()]:
            end = cls._end_instant(day, closing, zone)
            for minutes in range(opening, closing, rules.step_min):
                start = cls._instant(day, minutes, zone)
                if start is not None and start.astimezone(UTC) + length <= end:
                    found = True
                    yield start
        if not found:
            first = next((cls._instant(day, opening, zone) for opening, _ in rules.week[day.weekday()]), None)
            if first is not None:
                yield first

    @staticmethod
    def bookable_days(now: datetime, rules: Rules) -> list[date]:
        today = now.astimezone(ZoneInfo(rules.timezone)).date()
        days = (today + timedelta(days=offset) for offset in range(rules.horizon_days))
        return [day for day in days if day not in rules.days_off]

    @staticmethod
    def overlaps(start: datetime, end: datetime, busy: Iterable[Interval]) -> bool:
        return any(start < other_end and other_start < end for other_start, other_end in busy)

    @classmethod
    def is_free(cls, start: datetime, rules: Rules, busy: Iterable[Interval]) -> bool:
        end = start + timedelta(minutes=rules.duration_min + rules.buffer_min)
        return not cls.overlaps(start, end, busy)

    @staticmethod
    def _soon_enough(start: datetime, rules: Rules, now: datetime) -> bool:
        start, now = start.astimezone(UTC), now.astimezone(UTC)
        return start > now and start >= now + timedelta(minutes=rules.notice_min)

    @classmethod
    def free_starts(cls, day: date, rules: Rules, busy: Iterable[Interval], now: datetime) -> list[datetime]:
        if day not in cls.bookable_days(now, rules):
            return []
        busy = list(busy)
        return [
            start
            for start in cls.day_starts(day, rules)
            if cls._soon_enough(start, rules, now) and cls.is_free(start, rules, busy)
        ]

    @classmethod
    def has_free_start(cls, day: date, rules: Rules, busy: Iterable[Interval], now: datetime) -> bool:
        if day not in cls.bookable_days(now, rules):
            return False
        busy = list(busy)
        return any(
            cls._soon_enough(start, rules, now) and cls.is_free(start, rules, busy)
            for start in cls._starts(day, rules)
        )

    @classmethod
    def is_offered(cls, start: datetime, rules: Rules, now: datetime) -> bool:
        local = start.astimezone(ZoneInfo(rules.timezone))
        if not cls._soon_enough(start, rules, now) or local.date() not in cls.bookable_days(now, rules):
            return False
        instant = start.astimezone(UTC)
        return any(candidate.astimezone(UTC) == instant for candidate in cls.day_starts(local.date(), rules))


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # changes by half an hour
    "America/St_Johns",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Santiago",  # changes at midnight
    "Africa/Casablanca",
]


def changes(zone: str, year: int) -> list[date]:
    """The days whose noon has another UTC offset than the noon before (a change that night or that day)."""
    first = date(year, 1, 1)
    days = [first + timedelta(days=offset) for offset in range(366)]
    noon = [datetime.combine(day, datetime.min.time(), ZoneInfo(zone)) + timedelta(hours=12) for day in days]
    return [days[i] for i in range(1, len(days)) if noon[i].utcoffset() != noon[i - 1].utcoffset()]


# Each zone with the days of its changes of offset (and an ordinary day); the days asked about are within a
# few days of these. Samoa skipped 2011-12-30 whole.
DAYS = [(zone, day) for zone in ZONES for day in [date(2026, 6, 15), *changes(zone, 2026)]]
DAYS += [("Pacific/Apia", date(2011, 12, 30))]
QUARTER = 15
MINUTE = st.integers(min_value=0, max_value=24 * 60)


@st.composite
def spans(draw: st.DrawFn) -> tuple[slots.Span, ...]:
    """A day's working intervals: ordered and apart as /hours makes them, the whole day, or anything a
    stored week could hold."""
    kind = draw(st.sampled_from(["hours", "whole", "any"]))
    if kind == "whole":
        return ((0, 24 * 60),)
    pairs = draw(st.lists(st.tuples(MINUTE, MINUTE), max_size=3))
    if kind == "hours":
        edges = sorted({minute for pair in pairs for minute in pair})
        return tuple((edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2))
    return tuple(pairs)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Rules, datetime, list[Interval]]:
    zone, change = draw(st.sampled_from(DAYS))
    base = change + timedelta(days=draw(st.sampled_from([0, 0, 0, -1, 1, -3, 3])))
    week = tuple(draw(spans()) for _ in range(7))
    rules = Rules(
        timezone=zone,
        duration_min=draw(st.sampled_from([1, 15, 30, 45, 60, 90, 120, 600, 1440])),
        week=week,
        step_min=draw(st.sampled_from([5, 7, 15, 30, 45, 60, 240])),
        buffer_min=draw(st.sampled_from([0, 0, 10, 30, 90])),
        notice_min=draw(st.sampled_from([0, 0, 30, 60, 24 * 60])),
        horizon_days=draw(st.integers(0, 8)),
        days_off=frozenset(base + timedelta(days=d) for d in draw(st.sets(st.integers(-2, 8), max_size=3))),
    )
    midnight = datetime.combine(base, datetime.min.time(), UTC)
    now = midnight + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 24 * 60)))
    if draw(st.booleans()):
        now = now.astimezone(ZoneInfo(zone))  # a local `now` must count the same
    busy: list[Interval] = []
    for _ in range(draw(st.integers(0, 25))):
        # Mostly on quarter hours around the day, as orders are; some anywhere in the days asked about.
        if draw(st.booleans()):
            start = midnight + timedelta(minutes=QUARTER * draw(st.integers(-16, 4 * 32)))
            end = start + timedelta(minutes=QUARTER * draw(st.integers(-2, 16)))
        else:
            start = midnight + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 9 * 24 * 60)))
            end = start + timedelta(minutes=draw(st.integers(-30, 12 * 60)))  # empty and reversed ones too
        if draw(st.booleans()):  # the database gives UTC; any fixed offset compares the same
            offset = timezone(timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60))))
            start, end = start.astimezone(offset), end.astimezone(offset)
        busy.append((start, end))
    return rules, now, busy


def exact(moments: list[datetime]) -> list[tuple[str, int, object]]:
    """Datetimes as they would show: wall time with offset, fold and zone (== alone ignores fold and zone)."""
    return [(moment.isoformat(), moment.fold, moment.tzinfo) for moment in moments]


WHOLE_WEEK = (((0, 24 * 60),),) * 7
# A meeting across a change of offset ends where its start's wall time plus its length ends (see is_free):
# an hour before UTC's sum in spring, an hour after it in autumn; an order in that hour tells them apart.
SPRING = (
    Rules("Europe/Berlin", 90, week=WHOLE_WEEK),
    datetime(2027, 3, 27, 12, tzinfo=UTC),
    [(datetime(2027, 3, 28, 1, 15, tzinfo=UTC), datetime(2027, 3, 28, 1, 30, tzinfo=UTC))],
)
AUTUMN = (
    Rules("Europe/Berlin", 60, week=WHOLE_WEEK),
    datetime(2027, 10, 30, 12, tzinfo=UTC),
    [(datetime(2027, 10, 31, 2, tzinfo=UTC), datetime(2027, 10, 31, 2, 15, tzinfo=UTC))],
)


@settings(max_examples=400, deadline=None)
@given(cases())
@example(SPRING)
@example(AUTUMN)
def test_days_starts_and_checks_are_those_of_the_code_before(
    case: tuple[Rules, datetime, list[Interval]],
) -> None:
    rules, now, busy = case
    days = Reference.bookable_days(now, rules)
    assert slots.bookable_days(now, rules) == days
    asked = sorted({*days, *(day + timedelta(days=1) for day in days), now.date() - timedelta(days=1)})
    for day in asked:
        assert slots.is_bookable(day, rules, now) == (day in days)
        assert exact(slots.day_starts(day, rules)) == exact(Reference.day_starts(day, rules))
        listed = slots.free_starts(day, rules, busy, now)
        assert exact(listed) == exact(Reference.free_starts(day, rules, busy, now))
        assert slots.has_free_start(day, rules, busy, now) == Reference.has_free_start(day, rules, busy, now)
    assert slots.free_days(days, rules, busy, now) == [
        day for day in days if Reference.has_free_start(day, rules, busy, now)
    ]
    for day in asked:
        starts = Reference.day_starts(day, rules)
        for start in [*starts[:3], *starts[-2:], *(interval[0] for interval in busy[:2])]:
            for moment in (start, start.astimezone(UTC), start + timedelta(minutes=1)):
                assert slots.is_offered(moment, rules, now) == Reference.is_offered(moment, rules, now)


@settings(max_examples=200, deadline=None)
@given(cases(), st.data())
def test_busy_sorted_once_overlaps_as_the_scan_of_every_interval(
    case: tuple[Rules, datetime, list[Interval]], data: st.DataObject
) -> None:
    _, now, busy = case
    index = slots.Busy(busy)
    for _ in range(20):
        start = now + timedelta(minutes=data.draw(st.integers(-5 * 24 * 60, 10 * 24 * 60)))
        end = start + timedelta(minutes=data.draw(st.integers(-30, 24 * 60)))
        assert index.overlaps(start, end) == Reference.overlaps(start, end, busy)
