"""Users as the bot knows them: name, username and time zone."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n, texts
from bot.batches import Batched
from bot.domain import utcnow
from bot.errors import UserError
from storage import repos
from storage.direct import direct
from storage.models import PersonRow

MAX_ZONE_LENGTH = 64


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None


def valid_timezone(value: str) -> str:
    """The canonical IANA name, or a UserError explaining what is expected."""
    candidate = value.strip()
    if not candidate or len(candidate) > MAX_ZONE_LENGTH:
        raise UserError(
            texts.TIMEZONE_BAD, value=escape(candidate[:MAX_ZONE_LENGTH]) or i18n.Text(texts.EMPTY_VALUE)
        )
    known = {zone.lower(): zone for zone in available_timezones()}
    name = known.get(candidate.lower())
    if name is None:
        raise UserError(texts.TIMEZONE_BAD, value=escape(candidate))
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(texts.TIMEZONE_BAD, value=escape(candidate)) from exc
    return name


def _differs(stored: Any | None, person: Person, changes: dict[str, str | None]) -> bool:
    wanted = {"first_name": person.first_name[:256], "username": person.username, **changes}
    return stored is None or any(getattr(stored, field) != value for field, value in wanted.items())


async def keep_person(session: AsyncSession, person: Person, **changes: str | None) -> Any | None:
    """Record the person as Telegram shows them now (name, username and `changes`, e.g. `language_code`)
    in the caller's transaction; returns what was stored before (None for someone new). Reads four columns
    and writes only when something differs."""
    stored = await repos.person_names(session, person.id)
    if _differs(stored, person, changes):
        await repos.save_person(
            session, person.id, person.first_name[:256], person.username, utcnow(), **changes
        )
    return stored


class Persons:
    """Keeps the persons table current and holds each person's time zone."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], default_timezone: str) -> None:
        self._sessions = sessions
        self.default_timezone = default_timezone
        # Reads of stored names and languages asked for in several chats at once go in one statement.
        self._reads: Batched[int, Any] = Batched(self._read_names, "read-persons")

    async def _read_names(self, user_ids: list[int]) -> dict[int, Any]:
        """Persons' stored names and languages (`repos.person_names`), in one statement."""
        async with direct(self._sessions) as transaction:
            return await repos.persons_names(transaction, sorted(set(user_ids)))

    async def touch(self, person: Person) -> None:
        async with self._sessions.begin() as session:
            await repos.upsert_user(session, person.id, person.first_name[:256], person.username, utcnow())

    async def timezone_of(self, user_id: int) -> str:
        async with self._sessions() as session:
            row = await session.get(PersonRow, user_id)
            return (row.timezone if row else None) or self.default_timezone

    async def set_timezone(self, person: Person, value: str) -> str:
        zone = valid_timezone(value)
        async with self._sessions.begin() as session:
            row = await repos.upsert_user(
                session, person.id, person.first_name[:256], person.username, utcnow()
            )
            row.timezone = zone
        return zone

    async def language(self, person: Person) -> str:
        """The person's language; remembers Telegram's `language_code` as it is sent now (and their name).

        Every update asks this first, so it reads four columns (in one statement with the reads of other
        chats' updates asked for meanwhile) and writes only when something changed; a person's updates come
        one at a time, so nothing of theirs changes between the read and the write."""
        code = person.language_code or None
        stored = await self._reads(person.id)
        if _differs(stored, person, {"language_code": code}):
            async with direct(self._sessions) as transaction:
                await repos.save_person(
                    transaction,
                    person.id,
                    person.first_name[:256],
                    person.username,
                    utcnow(),
                    language_code=code,
                )
        return i18n.language_for(stored.language if stored is not None else None, code)

    async def language_of(self, user_id: int) -> str:
        """The language to write to this user in (English for someone the bot has never met)."""
        async with self._sessions() as session:
            row = await session.get(PersonRow, user_id)
            return (
                i18n.language_for(row.language, row.language_code) if row else i18n.language_for(None, None)
            )

    async def set_language(self, person: Person, language: str) -> str:
        if language not in i18n.LANGUAGES:
            raise UserError(texts.STALE_BUTTON)
        async with self._sessions.begin() as session:
            row = await repos.upsert_user(
                session, person.id, person.first_name[:256], person.username, utcnow()
            )
            row.language = language
        return language

    async def chosen_language(self, user_id: int) -> str | None:
        """The language the user chose with /language, if they did."""
        async with self._sessions() as session:
            row = await session.get(PersonRow, user_id)
            return row.language if row else None

    async def has_owner_menu(self, user_id: int) -> bool:
        async with self._sessions() as session:
            row = await session.get(PersonRow, user_id)
            return bool(row and row.owner_menu_set)

    async def mark_owner_menu(self, user_id: int) -> bool:
        """True the first time: the caller then sets the owner's command menu."""
        async with self._sessions.begin() as session:
            row = await session.get(PersonRow, user_id)
            if row is None or row.owner_menu_set:
                return False
            row.owner_menu_set = True
            return True
