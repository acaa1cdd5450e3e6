"""Owners' availability: weekly hours (their own and a service's), days off, and the rules a slot obeys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import booking_rules, slots, texts
from bot.domain import utcnow
from bot.errors import NotAllowed, StaleAction
from bot.services.persons import Person, Persons
from storage import repos
from storage.direct import Transaction
from storage.models import PersonRow, ServiceRow


@dataclass(frozen=True)
class ServiceHours:
    service_id: int
    name: str
    timezone: str
    week: slots.Week
    own: bool


@dataclass(frozen=True)
class DaysOff:
    ranges: list[tuple[date, date]]
    active_orders: int


def owner_week(user: PersonRow | None) -> slots.Week:
    return week_of(user.hours if user is not None else None)


def week_of(hours: object) -> slots.Week:
    """An owner's weekly hours as stored in `persons.hours` (the default week when there are none)."""
    stored = booking_rules.week_from_json(hours)
    return stored if stored is not None else slots.DEFAULT_WEEK


@dataclass(frozen=True)
class DaysOffRead:
    """An owner's days off from `first` to `last`, as a caller read them with the service."""

    first: date
    last: date
    days: frozenset[date]

    def between(self, first: date, last: date) -> frozenset[date] | None:
        """The days off from `first` to `last`; None when they reach beyond what was read."""
        if first < self.first or last > self.last:
            return None
        return frozenset(day for day in self.days if first <= day <= last)


def days_off_window(now: datetime) -> tuple[date, date]:
    """The days off to read with a service for any rules made now: from the day before today to the
    furthest horizon, in any time zone (a zone's date is within a day of UTC's)."""
    today = now.date()
    return today - timedelta(days=2), today + timedelta(days=slots.MAX_DAYS_AHEAD + 2)


async def rules_for(
    session: Transaction,
    service: ServiceRow,
    *,
    by_owner: bool = False,
    duration_min: int | None = None,
    owners_week: slots.Week | None = None,
    owners_days_off: DaysOffRead | None = None,
) -> slots.Rules:
    """The booking rules of a service as they stand now (its hours, the owner's days off, its settings).
    `owners_week`, `owners_days_off`: the owner's weekly hours and days off when the caller read them with
    the service (else read here)."""
    week = booking_rules.week_from_json(service.hours) if service.hours is not None else None
    if week is None:
        if owners_week is not None:
            week = owners_week
        elif isinstance(session, AsyncSession):
            week = owner_week(await session.get(PersonRow, service.owner_id))
        else:  # a direct transaction reads no ORM entity: the caller reads the week with the service
            raise TypeError("the owner's week must come with the service in a direct transaction")
    today = utcnow().astimezone(ZoneInfo(service.timezone)).date()
    horizon = slots.MAX_DAYS_AHEAD if by_owner else service.horizon_days
    first, last = today - timedelta(days=1), today + timedelta(horizon + 1)
    off = owners_days_off.between(first, last) if owners_days_off is not None else None
    if off is None:
        off = frozenset(await repos.days_off(session, service.owner_id, first, last))
    rules = slots.Rules(
        timezone=service.timezone,
        duration_min=duration_min or service.duration_min,
        week=week,
        step_min=service.step_min,
        buffer_min=service.buffer_min,
        notice_min=service.notice_min,
        horizon_days=service.horizon_days,
        days_off=off,
    )
    return rules.for_owner() if by_owner else rules


class Availability:
    """Use cases of /hours, /away and a service's own hours."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], persons: Persons) -> None:
        self._sessions = sessions
        self._persons = persons

    async def week(self, owner: Person) -> slots.Week:
        async with self._sessions() as session:
            return owner_week(await session.get(PersonRow, owner.id))

    async def set_hours(self, owner: Person, days: list[int], spans: tuple[slots.Span, ...]) -> slots.Week:
        """Set the owner's hours of those weekdays; returns the whole week."""
        async with self._sessions.begin() as session:
            user = await repos.upsert_user(
                session, owner.id, owner.first_name[:256], owner.username, utcnow()
            )
            week = booking_rules.with_days(owner_week(user), days, spans)
            user.hours = booking_rules.week_to_json(week)
            return week

    async def service_hours(self, owner_id: int, service_id: int | None) -> ServiceHours:
        async with self._sessions() as session:
            service = await self._owned(session, owner_id, service_id)
            return await self._hours_of(session, service)

    async def set_service_hours(
        self, owner_id: int, service_id: int | None, days: list[int], spans: tuple[slots.Span, ...] | None
    ) -> ServiceHours:
        """Give the service its own hours for those days (None for `days`' spans: back to the owner's)."""
        async with self._sessions.begin() as session:
            service = await self._owned(session, owner_id, service_id)
            if spans is None:
                service.hours = None
            else:
                current = await self._hours_of(session, service)
                service.hours = booking_rules.week_to_json(booking_rules.with_days(current.week, days, spans))
            return await self._hours_of(session, service)

    async def _owned(self, session: AsyncSession, owner_id: int, service_id: int | None) -> ServiceRow:
        service = await session.get(ServiceRow, service_id) if service_id is not None else None
        if service is None:
            raise StaleAction(texts.STALE_BUTTON)
        if service.owner_id != owner_id:
            raise NotAllowed(texts.NOT_YOURS)
        return service

    async def _hours_of(self, session: AsyncSession, service: ServiceRow) -> ServiceHours:
        own = booking_rules.week_from_json(service.hours) if service.hours is not None else None
        week = own or owner_week(await session.get(PersonRow, service.owner_id))
        return ServiceHours(service.id, service.name, service.timezone, week, own is not None)

    async def today(self, owner_id: int) -> date:
        zone = ZoneInfo(await self._persons.timezone_of(owner_id))
        return utcnow().astimezone(zone).date()

    async def add_days_off(self, owner: Person, text: str) -> DaysOff:
        first, last = booking_rules.parse_away(text, await self.today(owner.id))
        days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
        async with self._sessions.begin() as session:
            await repos.upsert_user(session, owner.id, owner.first_name[:256], owner.username, utcnow())
            await repos.lock_owner(session, owner.id)
            await repos.add_days_off(session, owner.id, days)
        return await self.days_off(owner.id)

    async def remove_days_off(self, owner_id: int, first: date | None, last: date | None) -> DaysOff:
        if first is None or last is None or last < first:
            raise StaleAction(texts.STALE_BUTTON)
        async with self._sessions.begin() as session:
            await repos.remove_days_off(session, owner_id, first, last)
        return await self.days_off(owner_id)

    async def days_off(self, owner_id: int) -> DaysOff:
        """The coming days off, as runs of days, and how many active orders fall on them."""
        today = await self.today(owner_id)
        async with self._sessions() as session:
            days = await repos.days_off(session, owner_id, today, today + timedelta(days=400))
            count = await self._orders_on(session, owner_id, set(days))
        return DaysOff(booking_rules.day_ranges(days), count)

    async def _orders_on(self, session: AsyncSession, owner_id: int, days: set[date]) -> int:
        if not days:
            return 0
        start = datetime.combine(min(days) - timedelta(days=1), datetime.min.time(), ZoneInfo("UTC"))
        end = datetime.combine(max(days) + timedelta(days=2), datetime.min.time(), ZoneInfo("UTC"))
        starts = await repos.active_order_starts(session, owner_id, start, end)
        return sum(1 for moment, zone in starts if moment.astimezone(ZoneInfo(zone)).date() in days)
