"""Reading what owners type about their availability: weekly hours, days off and reminder offsets.

Every function here is pure: it returns the value or raises a UserError whose text names what is wrong
and shows an example that works.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import escape

from bot import i18n, texts
from bot.errors import UserError
from bot.slots import DAY_MINUTES, Span, Week

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_INPUT = 300  # longer than any sensible week; anything longer is refused unread
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_SPAN = re.compile(r"^([^-–]+)[-–]([^-–]+)$")
AWAY_MAX_DAYS = 365
REMINDER_MIN = 1
REMINDER_MAX = 7 * DAY_MINUTES
REMINDERS_MAX_COUNT = 5
_OFFSET = re.compile(r"^(\d{1,5})([mhd])$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": DAY_MINUTES}


def _short(value: str) -> str:
    return escape(value[:40])


def parse_days(value: str) -> list[int]:
    """`mon`, `mon-fri`, `mon,wed,fri` or a mix such as `mon-wed,fri`: weekday numbers, Monday 0."""
    days: list[int] = []
    for part in value.lower().split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(end not in DAY_KEYS for end in ends):
            raise UserError(texts.HOURS_BAD_DAY, value=_short(part or value))
        first, last = DAY_KEYS.index(ends[0]), DAY_KEYS.index(ends[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        days.extend(day for day in span if day not in days)
    return sorted(days)


def parse_time(value: str, *, is_end: bool) -> int:
    found = _TIME.fullmatch(value.strip())
    hours, minutes = (int(found.group(1)), int(found.group(2))) if found else (99, 99)
    total = hours * 60 + minutes
    if minutes > 59 or total > DAY_MINUTES or (total == DAY_MINUTES and not is_end):
        raise UserError(texts.HOURS_BAD_TIME, value=_short(value))
    return total


def parse_spans(words: list[str]) -> tuple[Span, ...]:
    """`09:00-12:00 13:00-18:00` (or `off`): intervals that each end after they start and never overlap."""
    if [word.lower() for word in words] == ["off"]:
        return ()
    if not words:
        raise UserError(texts.HOURS_NO_SPANS)
    spans: list[Span] = []
    for word in words:
        found = _SPAN.fullmatch(word)
        if found is None:
            raise UserError(texts.HOURS_BAD_SPAN, value=_short(word))
        start = parse_time(found.group(1), is_end=False)
        end = parse_time(found.group(2), is_end=True)
        if end <= start:
            raise UserError(texts.HOURS_END_BEFORE_START, value=_short(word))
        spans.append((start, end))
    spans.sort()
    for first, second in zip(spans, spans[1:], strict=False):
        if second[0] < first[1]:
            raise UserError(texts.HOURS_OVERLAP, first=format_spans([first]), second=format_spans([second]))
    return tuple(spans)


def parse_hours(text: str) -> tuple[list[int], tuple[Span, ...]]:
    """The arguments of `/hours <days> <HH:MM-HH:MM> […]` or `/hours <days> off`."""
    if len(text) > MAX_INPUT:
        raise UserError(texts.HOURS_USAGE)
    words = text.split()
    if len(words) < 2:
        raise UserError(texts.HOURS_USAGE)
    return parse_days(words[0]), parse_spans(words[1:])


def with_days(week: Week, days: list[int], spans: tuple[Span, ...]) -> Week:
    return tuple(spans if index in days else week[index] for index in range(7))


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_spans(spans: list[Span] | tuple[Span, ...]) -> str:
    if not spans:
        return i18n.t(texts.HOURS_OFF)
    return ", ".join(f"{format_time(start)}–{format_time(end)}" for start, end in spans)


def week_lines(week: Week) -> str:
    return "\n".join(
        i18n.t(texts.HOURS_DAY_LINE, day=i18n.weekday(index), spans=format_spans(week[index]))
        for index in range(7)
    )


def week_from_json(value: object) -> Week | None:
    """A stored week (seven lists of [start, end] minutes), or None when it is not one."""
    if not isinstance(value, list) or len(value) != 7:
        return None
    week: list[tuple[Span, ...]] = []
    for day in value:
        if not isinstance(day, list):
            return None
        spans = [(int(span[0]), int(span[1])) for span in day if isinstance(span, list) and len(span) == 2]
        week.append(tuple(spans))
    return tuple(week)


def week_to_json(week: Week) -> list[list[list[int]]]:
    return [[[start, end] for start, end in day] for day in week]


def parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError as exc:
        raise UserError(texts.AWAY_BAD_DATE, value=_short(value)) from exc


def parse_away(text: str, today: date) -> tuple[date, date]:
    """`2026-12-24` or `2026-12-24..2027-01-02`: not in the past, at most a year ahead."""
    words = text.split()
    if len(words) != 1 or len(text) > MAX_INPUT:
        raise UserError(texts.AWAY_USAGE)
    parts = words[0].split("..")
    if len(parts) > 2:
        raise UserError(texts.AWAY_USAGE)
    first, last = parse_date(parts[0]), parse_date(parts[-1])
    if last < first:
        raise UserError(texts.AWAY_REVERSED, first=first.isoformat(), last=last.isoformat())
    if first < today:
        raise UserError(texts.AWAY_PAST, day=first.isoformat(), today=today.isoformat())
    latest = today + timedelta(days=AWAY_MAX_DAYS)
    if last > latest:
        raise UserError(texts.AWAY_TOO_FAR, day=last.isoformat(), latest=latest.isoformat())
    return first, last


def day_ranges(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days grouped into runs of consecutive days."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def parse_reminders(text: str) -> list[int]:
    """`24h 1h 15m` (each 1 minute to 7 days) or `off`: minutes before the start, largest first."""
    words = text.lower().split()
    if words == ["off"]:
        return []
    if not words or len(words) > REMINDERS_MAX_COUNT or len(text) > MAX_INPUT:
        raise UserError(texts.REMINDERS_BAD, value=_short(text), max=REMINDERS_MAX_COUNT)
    offsets: set[int] = set()
    for word in words:
        found = _OFFSET.fullmatch(word)
        minutes = int(found.group(1)) * _UNIT_MINUTES[found.group(2)] if found else 0
        if not REMINDER_MIN <= minutes <= REMINDER_MAX:
            raise UserError(texts.REMINDERS_BAD, value=_short(word), max=REMINDERS_MAX_COUNT)
        offsets.add(minutes)
    return sorted(offsets, reverse=True)


def format_offset(minutes: int) -> str:
    if minutes % DAY_MINUTES == 0 and minutes > DAY_MINUTES:
        return f"{minutes // DAY_MINUTES}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def format_reminders(offsets: list[int]) -> str:
    return " ".join(format_offset(minutes) for minutes in offsets) if offsets else i18n.t(texts.REMINDERS_OFF)
