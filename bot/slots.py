"""Which days and start times can be booked: pure functions of time, the booking rules and busy intervals.

Working hours are wall-clock minutes of the service's time zone. A start time is counted in steps from the
start of its working interval; a wall time that does not exist that day (spring forward) is skipped and one
that exists twice (fall back) is offered once, at its first occurrence.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BOOKABLE_DAYS = 14
MAX_DAYS_AHEAD = 90  # the furthest any start may be: the owner's own bookings and the longest Horizon
DAY_MINUTES = 24 * 60

Interval = tuple[datetime, datetime]
Span = tuple[int, int]  # minutes after midnight, start < end <= 24:00
Week = tuple[tuple[Span, ...], ...]  # Monday first, seven days

NINE_TO_SIX: tuple[Span, ...] = ((9 * 60, 18 * 60),)
DEFAULT_WEEK: Week = (NINE_TO_SIX,) * 5 + ((), ())


@dataclass(frozen=True)
class Rules:
    """What limits the starts of one service for one booking."""

    timezone: str
    duration_min: int
    week: Week = DEFAULT_WEEK
    step_min: int = 30
    buffer_min: int = 0
    notice_min: int = 0
    horizon_days: int = BOOKABLE_DAYS
    days_off: frozenset[date] = field(default_factory=frozenset)

    def for_owner(self) -> Rules:
        """The owner books and moves orders without Notice and up to MAX_DAYS_AHEAD days ahead."""
        return replace(self, notice_min=0, horizon_days=MAX_DAYS_AHEAD)

    def with_duration(self, duration_min: int) -> Rules:
        return replace(self, duration_min=duration_min)


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime | None:
    """The aware instant of a wall time on `day`, or None when that wall time does not exist."""
    wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
    aware = wall.replace(tzinfo=zone)  # fold=0: the first of two occurrences
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return aware


def _end_instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Where a working interval ends; an end that is skipped or repeated that day counts at its earliest."""
    wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
    return min(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


def day_starts(day: date, rules: Rules) -> list[datetime]:
    """Every start on `day` (aware, in the service's zone) whose meeting ends inside its working interval;
    a day whose intervals are all shorter than the meeting offers its opening time only."""
    return list(_day_of(day, rules).starts)


@dataclass(frozen=True)
class _Day:
    """One day's starts as `day_starts` lists them, with what every step asks of each in UTC."""

    starts: tuple[datetime, ...]  # aware in the service's zone, ascending
    instants: tuple[datetime, ...]  # each start in UTC
    reaches: tuple[datetime, ...]  # where each start's [start, end + Buffer) ends, in UTC (see is_free)
    offered: frozenset[datetime]  # the instants, to look one up


def _day_of(day: date, rules: Rules) -> _Day:
    return _counted_day(
        day, rules.timezone, rules.duration_min, rules.week[day.weekday()], rules.step_min, rules.buffer_min
    )


# The starts of a day are a pure function of these values, and counting them costs a dozen zoneinfo
# conversions per start: the days, times and checks of every customer's conversation count the same few days
# of the same services again and again. An entry is a few kilobytes.
@functools.lru_cache(maxsize=256)
def _counted_day(
    day: date, timezone: str, duration_min: int, spans: tuple[Span, ...], step_min: int, buffer_min: int
) -> _Day:
    rules = Rules(timezone, duration_min, week=(spans,) * 7, step_min=step_min, buffer_min=buffer_min)
    starts: dict[datetime, datetime] = {}
    for start in _starts(day, rules):
        starts.setdefault(start.astimezone(UTC), start)
    instants = tuple(sorted(starts))
    ordered = tuple(starts[instant] for instant in instants)
    # As is_free adds them: to the start's wall time, which can differ from UTC's sum on a change of offset.
    reach = timedelta(minutes=duration_min + buffer_min)
    reaches = tuple((start + reach).astimezone(UTC) for start in ordered)
    return _Day(ordered, instants, reaches, frozenset(instants))


def _starts(day: date, rules: Rules) -> Iterator[datetime]:
    """The starts of `day_starts` as they are counted, unsorted (one that exists twice may come twice)."""
    zone = ZoneInfo(rules.timezone)
    length = timedelta(minutes=rules.duration_min)
    found = False
    for opening, closing in rules.week[day.weekday()]:
        end = _end_instant(day, closing, zone)
        for minutes in range(opening, closing, rules.step_min):
            start = _instant(day, minutes, zone)
            if start is not None and start.astimezone(UTC) + length <= end:
                found = True
                yield start
    if not found:
        # A service longer than every working interval of the day can still start when the day opens.
        first = next((_instant(day, opening, zone) for opening, _ in rules.week[day.weekday()]), None)
        if first is not None:
            yield first


def bookable_days(now: datetime, rules: Rules) -> list[date]:
    """Today and the next Horizon−1 days in the service's zone, without days off."""
    today = now.astimezone(ZoneInfo(rules.timezone)).date()
    days = (today + timedelta(days=offset) for offset in range(rules.horizon_days))
    return [day for day in days if day not in rules.days_off]


def is_bookable(day: date, rules: Rules, now: datetime) -> bool:
    """Whether `bookable_days` lists `day`, without listing them."""
    today = now.astimezone(ZoneInfo(rules.timezone)).date()
    return 0 <= (day - today).days < rules.horizon_days and day not in rules.days_off


def overlaps(start: datetime, end: datetime, busy: Iterable[Interval]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in busy)


def is_free(start: datetime, rules: Rules, busy: Iterable[Interval]) -> bool:
    """Whether [start, end + Buffer) overlaps none of the busy intervals (each with its own buffer)."""
    end = start + timedelta(minutes=rules.duration_min + rules.buffer_min)
    return not overlaps(start, end, busy)


class Busy:
    """Busy intervals sorted by start, with the latest end of every first k of them: whether an interval
    overlaps any of them is one bisection instead of a look at each (the days step asks it of every start
    up to the Horizon). The same answer as `overlaps`, even for empty or reversed intervals, when they are
    in UTC or at a fixed offset, as the database gives them: two wall times of one zone with changes of
    offset compare as wall times, which no sorting can follow."""

    def __init__(self, busy: Iterable[Interval]) -> None:
        ordered = sorted(busy, key=lambda interval: interval[0])
        self._starts = [start for start, _ in ordered]
        self._latest_ends: list[datetime] = []
        for _, end in ordered:
            latest = self._latest_ends[-1] if self._latest_ends else end
            self._latest_ends.append(end if end > latest else latest)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether some interval starts before `end` and ends after `start`."""
        starting_before = bisect_left(self._starts, end)
        return starting_before > 0 and self._latest_ends[starting_before - 1] > start


def _soon_enough(start: datetime, rules: Rules, now: datetime) -> bool:
    # In UTC: two datetimes of one zone compare, and add, as wall times, so a local `now` would count
    # Notice in wall-clock minutes across a daylight-saving change.
    start, now = start.astimezone(UTC), now.astimezone(UTC)
    return start > now and start >= now + timedelta(minutes=rules.notice_min)


def _free_indexes(day: date, rules: Rules, busy: Busy, now: datetime) -> Iterator[int]:
    """The positions in `day_starts` of the starts that respect Notice and overlap nothing busy."""
    counted = _day_of(day, rules)
    after = now.astimezone(UTC)  # _soon_enough's test, with `now` converted once for the day
    earliest = after + timedelta(minutes=rules.notice_min)
    for index, start in enumerate(counted.instants):
        if start > after and start >= earliest and not busy.overlaps(start, counted.reaches[index]):
            yield index


def free_starts(day: date, rules: Rules, busy: Iterable[Interval], now: datetime) -> list[datetime]:
    """Starts on `day` that respect Notice and overlap nothing busy (ascending)."""
    if not is_bookable(day, rules, now):
        return []
    starts = _day_of(day, rules).starts
    return [starts[index] for index in _free_indexes(day, rules, Busy(busy), now)]


def has_free_start(day: date, rules: Rules, busy: Iterable[Interval] | Busy, now: datetime) -> bool:
    """Whether `free_starts` lists anything on `day`; stops at the first such start."""
    if not is_bookable(day, rules, now):
        return False
    index = busy if isinstance(busy, Busy) else Busy(busy)
    return next(_free_indexes(day, rules, index, now), None) is not None


def free_days(days: Iterable[date], rules: Rules, busy: Iterable[Interval], now: datetime) -> list[date]:
    """Those of `days` on which `free_starts` lists anything (the days step asks this of every bookable
    day, over the same busy intervals)."""
    index = Busy(busy)
    return [day for day in days if has_free_start(day, rules, index, now)]


def is_offered(start: datetime, rules: Rules, now: datetime) -> bool:
    """Whether `start` is one of the starts the rules allow now, busy times aside (refuses forged data)."""
    local = start.astimezone(ZoneInfo(rules.timezone))
    if not _soon_enough(start, rules, now) or not is_bookable(local.date(), rules, now):
        return False
    return start.astimezone(UTC) in _day_of(local.date(), rules).offered


# Days and start times in button data: `YYYYMMDD` and `YYYYMMDDHHMM`, of the service's wall clock. The bot
# writes them (`day_data`, `local_data`) as ASCII digits of those exact lengths, read back here by slicing
# (strptime costs 4 to 6 us: its locale checks, its regex and a loop over the fields). For such strings
# strptime accepts exactly the values `date` and `datetime` accept (every field then has two digits), so both
# refuse the same. Anything else, forged data included, is left to strptime itself, with its leniencies
# (one-digit fields, other digits).


def day_data(day: date) -> str:
    """A day as button data carries it, `YYYYMMDD`: what `strftime("%Y%m%d")` gives, at a third of the
    cost."""
    return f"{day.year}{day.month:02d}{day.day:02d}"


def local_data(local: datetime) -> str:
    """A wall time as button data carries it, `YYYYMMDDHHMM`: what `strftime("%Y%m%d%H%M")` gives, at half
    the cost."""
    return f"{local.year}{local.month:02d}{local.day:02d}{local.hour:02d}{local.minute:02d}"


def _digits(value: str | None, count: int) -> str | None:
    """`value` when it is `count` ASCII digits, else None."""
    if value is None or len(value) != count or not (value.isascii() and value.isdigit()):
        return None
    return value


def parse_day(value: str | None) -> date | None:
    """The day of a button's `YYYYMMDD`, or None for anything that is not one."""
    digits = _digits(value, 8)
    try:
        if digits is None:
            return datetime.strptime(value or "", "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _wall_time(value: str | None) -> datetime | None:
    """A button's `YYYYMMDDHHMM` as a naive wall time, or None for anything that is not one."""
    digits = _digits(value, 12)
    try:
        if digits is None:
            return datetime.strptime(value or "", "%Y%m%d%H%M")  # noqa: DTZ007 - the service's wall time
        fields = int(digits[:4]), int(digits[4:6]), int(digits[6:8]), int(digits[8:10]), int(digits[10:])
        return datetime(*fields)  # noqa: DTZ001 - the service's wall time, its zone given by the caller
    except ValueError:
        return None


def parse_local(value: str | None, timezone: str) -> datetime | None:
    """The instant (in UTC) of a button's `YYYYMMDDHHMM` wall time in `timezone`, or None for anything
    that is not one (the zone is read only for a wall time)."""
    naive = _wall_time(value)
    if naive is None:
        return None
    try:
        return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))
    except OverflowError:  # year 1 or 9999 shifted out of range
        return None
