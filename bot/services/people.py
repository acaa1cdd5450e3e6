"""Users as the bot knows them: name, username and time zone."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.domain import utcnow
from bot.errors import UserError
from storage import repos
from storage.models import UserRow

MAX_ZONE_LENGTH = 64


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    username: str | None = None


def valid_timezone(value: str) -> str:
    """The canonical IANA name, or a UserError explaining what is expected."""
    candidate = value.strip()
    if not candidate or len(candidate) > MAX_ZONE_LENGTH:
        raise UserError(texts.TIMEZONE_BAD.format(value=escape(candidate[:MAX_ZONE_LENGTH] or "(empty)")))
    known = {zone.lower(): zone for zone in available_timezones()}
    name = known.get(candidate.lower())
    if name is None:
        raise UserError(texts.TIMEZONE_BAD.format(value=escape(candidate)))
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(texts.TIMEZONE_BAD.format(value=escape(candidate))) from exc
    return name


class People:
    """Keeps the users table current and holds each user's time zone."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], default_timezone: str) -> None:
        self._sessions = sessions
        self.default_timezone = default_timezone

    async def touch(self, person: Person) -> None:
        async with self._sessions.begin() as session:
            await repos.upsert_user(session, person.id, person.first_name[:256], person.username, utcnow())

    async def timezone_of(self, user_id: int) -> str:
        async with self._sessions() as session:
            row = await session.get(UserRow, user_id)
            return (row.timezone if row else None) or self.default_timezone

    async def set_timezone(self, person: Person, value: str) -> str:
        zone = valid_timezone(value)
        async with self._sessions.begin() as session:
            row = await repos.upsert_user(
                session, person.id, person.first_name[:256], person.username, utcnow()
            )
            row.timezone = zone
        return zone

    async def mark_owner_menu(self, user_id: int) -> bool:
        """True the first time: the caller then sets the owner's command menu."""
        async with self._sessions.begin() as session:
            row = await session.get(UserRow, user_id)
            if row is None or row.owner_menu_set:
                return False
            row.owner_menu_set = True
            return True
