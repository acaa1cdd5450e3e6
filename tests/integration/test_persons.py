"""The person every update records (name, username, Telegram's language code), on SQLite and PostgreSQL:
kept current, and read with one statement when nothing changed (it runs before every handler)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from bot.services.persons import Person
from storage.models import PersonRow
from tests.support.services import WiredServices, wired_services


@pytest.fixture
async def wired(any_database_url: str) -> AsyncIterator[WiredServices]:
    async with wired_services(any_database_url) as wired:
        yield wired


async def _stored(wired: WiredServices, user_id: int) -> tuple[str, str | None, str | None, str | None]:
    async with wired.sessions() as session:
        row = await session.get(PersonRow, user_id)
        assert row is not None
        return row.first_name, row.username, row.language_code, row.language


async def test_each_update_keeps_the_person_as_telegram_shows_them(wired: WiredServices) -> None:
    assert await wired.persons.language(Person(7, "Anna", "anna", "ru")) == "ru"
    assert await _stored(wired, 7) == ("Anna", "anna", "ru", None)

    assert await wired.persons.language(Person(7, "Ann", None, "en")) == "en"
    assert await _stored(wired, 7) == ("Ann", None, "en", None)

    await wired.persons.set_language(
        Person(7, "Ann"), "ru"
    )  # a choice made with /language outweighs the code
    assert await wired.persons.language(Person(7, "Ann", None, "en")) == "ru"


async def test_an_unchanged_person_costs_one_read(wired: WiredServices) -> None:
    me = Person(8, "Bob", "bob", "en")
    await wired.persons.language(me)
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(wired.engine.sync_engine, "before_cursor_execute", count)
    try:
        await wired.persons.language(me)
    finally:
        event.remove(wired.engine.sync_engine, "before_cursor_execute", count)
    writes = [
        statement for statement in seen if not statement.lstrip().upper().startswith(("SELECT", "BEGIN"))
    ]
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1, seen
    assert not [s for s in writes if "persons" in s], seen


async def test_updates_of_several_chats_at_once_read_their_persons_in_one_statement(
    wired: WiredServices,
) -> None:
    people = [Person(20 + n, f"P{n}", None, "ru" if n % 2 else "en") for n in range(5)]
    await wired.persons.set_language(people[0], "ru")  # a choice made with /language outweighs the code
    for me in people[1:4]:
        await wired.persons.language(me)  # people[4] is new
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(wired.engine.sync_engine, "before_cursor_execute", count)
    try:
        languages = await asyncio.gather(*(wired.persons.language(me) for me in people))
    finally:
        event.remove(wired.engine.sync_engine, "before_cursor_execute", count)
    assert languages == ["ru", "ru", "en", "ru", "en"]
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, seen
    assert len([s for s in seen if "INSERT" in s.upper()]) == 2, seen  # the new person, and P0's code
    assert await _stored(wired, 24) == ("P4", None, "en", None)
