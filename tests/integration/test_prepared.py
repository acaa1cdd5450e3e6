"""Statements run straight on SQLite's connection (storage/prepared.py) behave as through the session: the
same rows and types, the session's transaction, its pending changes flushed first, SQLAlchemy's errors and
events; on PostgreSQL they run through the session."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, event, exc, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import prepared, repos
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import DayOffRow, DraftRow, OrderRow, PersonRow, ServiceRow, ZoomConnectionRow

NOW = datetime(2031, 3, 4, 10, 30, tzinfo=UTC)  # a stored instant: nothing here compares it with the clock


@pytest.fixture
async def sessions(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database's sessions. On SQLite (a file), SQLAlchemy's own run of a statement is refused:
    what passes here ran on the connection directly."""
    async with migrated(database_url, monkeypatch) as made:
        yield made


@pytest.fixture
async def sessions_of_both(
    any_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """As `sessions`, on SQLite and on PostgreSQL whatever the backend under test."""
    async with migrated(any_database_url, monkeypatch) as made:
        yield made


@asynccontextmanager
async def migrated(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(url)
    await migrate(engine)
    if engine.dialect.name == "sqlite":

        async def refused(*_args: Any) -> Any:
            raise AssertionError("ran through the session")

        monkeypatch.setattr(prepared, "_through_session", refused)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def owner_with_service(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        session.add(PersonRow(id=7, first_name="Olga", created_at=NOW, hours=[[1, "09:00", "17:00"]]))
        await session.flush()
        service = ServiceRow(
            code="yoga", owner_id=7, name="Yoga", duration_min=45, timezone="Europe/Berlin", created_at=NOW
        )
        session.add(service)
        session.add(
            ZoomConnectionRow(
                owner_id=7,
                zoom_user_id="u7",
                zoom_account_id="a7",
                email="olga@example.com",
                status="connected",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.add_all(DayOffRow(owner_id=7, day=date(2031, 3, day)) for day in (6, 9))
        await session.flush()
        return service.id


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = sessions.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind


async def test_a_service_read_for_booking_has_the_values_and_types_the_orm_loads(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service_id = await owner_with_service(sessions)
    async with sessions() as session:
        loaded = await session.get(ServiceRow, service_id)
        assert loaded is not None
        expected = {column.key: getattr(loaded, column.key) for column in ServiceRow.__table__.columns}
    async with sessions() as session:
        found = await repos.service_for_booking(session, (date(2031, 3, 1), date(2031, 3, 8)), code="yoga")
    assert found is not None
    service, hours, status, days_off = found
    assert {key: getattr(service, key) for key in expected} == expected
    assert service.created_at == NOW and service.created_at.tzinfo is not None
    assert service.reminder_minutes == [1440, 60] and service.zoom_enabled is False
    assert (hours, status, days_off) == ([[1, "09:00", "17:00"]], "connected", [date(2031, 3, 6)])


async def test_a_write_belongs_to_the_sessions_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await owner_with_service(sessions)
    async with sessions() as session:
        await repos.lock_owner(session, 7)
        await repos.put_draft(session, 7, "order", "date", "n1", {"service_id": 1}, NOW)
        await session.rollback()
    async with sessions() as session:
        assert await repos.draft_of(session, 7) is None
        assert (await session.get(PersonRow, 7)).booking_seq == 0  # type: ignore[union-attr]
    async with sessions.begin() as session:
        await repos.lock_owner(session, 7)
        await repos.put_draft(session, 7, "order", "date", "n1", {"service_id": 1}, NOW)
    async with sessions() as session:
        draft = await repos.draft_of(session, 7)
        assert draft is not None and (draft.step, draft.data) == ("date", {"service_id": 1})
        assert (await session.get(PersonRow, 7)).booking_seq == 1  # type: ignore[union-attr]
        assert await repos.drop_draft(session, 7) is True
        assert await repos.drop_draft(session, 7) is False


async def test_pending_changes_of_the_session_are_written_before_the_statement_reads(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        session.add(PersonRow(id=8, first_name="Pia", language="ru", created_at=NOW))
        names = await repos.person_names(session, 8)
    assert names is not None and (names.first_name, names.language) == ("Pia", "ru")


async def test_column_defaults_are_written_and_in_lists_of_any_length_read(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        for person in (11, 12, 13):
            await repos.save_person(session, person, f"P{person}", None, NOW)
    async with sessions() as session:
        stored = await session.get(PersonRow, 12)
        assert stored is not None and (stored.owner_menu_set, stored.booking_seq) == (False, 0)
        assert stored.hours is not None and stored.created_at == NOW
        assert set(await repos.persons_names(session, [11, 13])) == {11, 13}
        assert set(await repos.persons_names(session, [11, 12, 13, 99])) == {11, 12, 13}


async def test_several_parameter_sets_run_in_one_call_and_each_statement_is_seen_by_listeners(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[str] = []

    def listener(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement.split()[0])

    engine = engine_of(sessions)
    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with sessions.begin() as session:
            await repos.store_updates(
                session, [(update_id, 5, {"update_id": update_id}) for update_id in (1, 2, 3)], NOW
            )
            await repos.finish_received(session, [1, 2, 3], NOW)
            assert await repos.mark_update(session, 3, NOW) is False
            assert await repos.mark_update(session, 4, NOW) is True
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    assert seen == ["INSERT", "INSERT", "DELETE", "INSERT", "INSERT"]
    async with sessions() as session:
        assert await repos.is_processed(session, 2) and await repos.is_processed(session, 4)
        assert await repos.known_updates(session, [1, 2, 3, 4, 5]) == {1, 2, 3, 4}


async def test_a_driver_error_arrives_as_sqlalchemys_and_the_session_goes_on(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    persons = PersonRow.__table__
    twice = insert(persons).values(
        id=9, first_name="Ida", owner_menu_set=False, booking_seq=0, created_at=NOW
    )
    async with sessions() as session:
        await prepared.run(session, twice)
        with pytest.raises(exc.IntegrityError) as raised:
            await prepared.run(session, twice)
        if engine_of(sessions).dialect.name == "sqlite":
            assert isinstance(raised.value.orig, sqlite3.IntegrityError)
        await session.rollback()
        assert await repos.person_names(session, 9) is None


async def test_defaults_in_sql_and_in_python_are_written_as_sqlalchemy_writes_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    table = Table(
        "stamped",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", DateTime, default=func.current_timestamp()),
        Column("n", Integer, default=lambda: 5),
    )
    async with sessions() as session:
        await session.run_sync(lambda sync: table.create(sync.connection()))
        await prepared.run(session, insert(table), {"id": 1})
        await prepared.run(session, insert(table), {"id": 2, "n": 6})
        rows = (
            await prepared.run(session, select(table.c.id, table.c.at, table.c.n).order_by(table.c.id))
        ).rows
    assert [(row.id, row.n) for row in rows] == [(1, 5), (2, 6)]
    assert all(isinstance(row.at, datetime) for row in rows)


async def test_a_service_read_for_booking_is_held_by_the_session_as_if_loaded(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service_id = await owner_with_service(sessions)
    statements: list[str] = []
    engine = engine_of(sessions)
    event.listen(engine.sync_engine, "before_cursor_execute", lambda _c, _k, sql, *_: statements.append(sql))
    window = (date(2031, 3, 1), date(2031, 3, 8))
    async with sessions.begin() as session:
        found = await repos.service_for_booking(session, window, service_id=service_id)
        assert found is not None
        statements.clear()
        assert await session.get(ServiceRow, service_id) is found[0]  # no second read
        assert statements == []
        found[0].name = "Yoga at noon"  # saved with the transaction, as a loaded entity's change
        again = await repos.service_for_booking(session, window, code="yoga")
        assert again is not None and again[0] is found[0] and again[0].name == "Yoga at noon"
    async with sessions() as session:
        stored = await session.get(ServiceRow, service_id)
        assert stored is not None and stored.name == "Yoga at noon"


async def test_an_order_read_by_id_is_the_one_the_session_holds_and_a_rolled_back_one_is_read_anew(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service_id = await owner_with_service(sessions)
    async with sessions.begin() as session:
        row = new_order(service_id, "Mine")
        session.add(row)
        await session.flush()
        order_id = row.id
    async with sessions() as session:
        order = await repos.get_order(session, order_id)
        assert order is not None and order.start_at == NOW and order.name == "Mine"
        assert await repos.get_order(session, order_id) is order
        order.name = "Changed, then rolled back"
        await session.rollback()  # expires what the session holds
        again = await repos.get_order(session, order_id, lock=True)
        assert again is order and again.name == "Mine" and again.start_at == NOW
        again.name = "Kept"
        await session.commit()
    async with sessions() as session:
        assert (await repos.get_order(session, order_id, fresh=True)).name == "Kept"  # type: ignore[union-attr]
        assert await repos.get_order(session, order_id + 1) is None


def new_order(service_id: int, name: str) -> OrderRow:
    """An order as `insert_order` builds it, leaving unset what it leaves unset (and `version`)."""
    return OrderRow(
        service_id=service_id,
        owner_id=7,
        customer_id=7,
        name=name,
        start_at=NOW,
        end_at=NOW + timedelta(minutes=45),
        duration_min=45,
        timezone="Europe/Berlin",
        status="new",
        wants_meeting=True,
        meeting_state="pending",
        synced_version=0,
        announced={"name": name, "start": NOW.isoformat(), "duration": 45, "join_url": None},
        client_name="Kim",
        created_at=NOW,
        updated_at=NOW,
    )


async def test_an_order_added_is_written_as_the_orm_writes_it_and_held_as_if_loaded(
    sessions_of_both: async_sessionmaker[AsyncSession],
) -> None:
    sessions = sessions_of_both
    service_id = await owner_with_service(sessions)
    statements: list[str] = []
    engine = engine_of(sessions)
    event.listen(engine.sync_engine, "before_cursor_execute", lambda _c, _k, sql, *_: statements.append(sql))
    async with sessions.begin() as session:
        by_orm = new_order(service_id, "Same")
        session.add(by_orm)
        await session.flush()
        added = new_order(service_id, "Same")
        statements.clear()
        await repos.add_order(session, added)
        assert [sql.split()[0] for sql in statements] == ["INSERT"]
        assert added.id is not None and added.id != by_orm.id
        assert not session.dirty and not session.new and session.is_modified(added) is False
        assert await session.get(OrderRow, added.id) is added
        assert await repos.get_order(session, added.id) is added
        assert (added.version, added.meeting_id, added.join_url) == (1, None, None)
        held = {column.key: getattr(added, column.key) for column in OrderRow.__table__.columns}
        statements.clear()
    assert not [sql for sql in statements if not sql.startswith("COMMIT")]  # nothing left to write
    async with sessions() as session:
        orm_row, added_row = [
            await repos.get_order(session, order_id, fresh=True) for order_id in (by_orm.id, added.id)
        ]
        columns = [column.key for column in OrderRow.__table__.columns if column.key != "id"]
        written = {key: getattr(added_row, key) for key in columns}
        assert written == {key: getattr(orm_row, key) for key in columns}
        assert {"id": added.id, **written} == held


async def test_an_added_orders_later_changes_are_saved_and_a_rollback_forgets_it(
    sessions_of_both: async_sessionmaker[AsyncSession],
) -> None:
    sessions = sessions_of_both
    service_id = await owner_with_service(sessions)
    async with sessions.begin() as session:
        kept = new_order(service_id, "Kept")
        await repos.add_order(session, kept)
        kept.meeting_state = "ready"
        await repos.enqueue(session, "meeting_sync", "meeting:1", NOW, order_id=kept.id)  # a flushing read
        kept.name = "Renamed"
    async with sessions() as session:
        stored = await repos.get_order(session, kept.id)
        assert stored is not None and (stored.meeting_state, stored.name) == ("ready", "Renamed")
        dropped = new_order(service_id, "Dropped")
        await repos.add_order(session, dropped)
        dropped_id = dropped.id
        await session.rollback()
        assert dropped not in session and inspect(dropped).transient  # as after the ORM's own INSERT
        assert await session.get(OrderRow, dropped_id) is None


async def test_json_columns_keep_odd_texts_and_stay_json_to_the_database(
    sessions_of_both: async_sessionmaker[AsyncSession],
) -> None:
    """JSON columns are written and read by orjson (storage/db.py), by the standard library where orjson
    refuses: a typed name with a lone surrogate and non-ASCII text comes back whole, and the stored text
    is JSON the database itself reads (PostgreSQL's operators refuse a lone surrogate's escape, as they did
    the standard library's: the bot reads no JSON column with them)."""
    odd = {"name": "Zoë \ud800 😀", "7": [1, 2.5, None, True]}
    plain = {"name": "Зоя 😀", "start": "2031-03-04T10:30:00+00:00"}
    async with sessions_of_both.begin() as session:
        await repos.put_draft(session, 42, "order", "name", "n0nce", odd, NOW)
        await repos.put_draft(session, 43, "order", "name", "n0nce", plain, NOW)
    async with sessions_of_both() as session:
        stored = [await repos.draft_of(session, user) for user in (42, 43)]
        read = select(DraftRow.data["name"].as_string(), DraftRow.data["start"].as_string())
        by_database = (await session.execute(read.where(DraftRow.user_id == 43))).one()
    assert [draft.data if draft is not None else None for draft in stored] == [odd, plain]
    assert tuple(by_database) == ("Зоя 😀", "2031-03-04T10:30:00+00:00")
