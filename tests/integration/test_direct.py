"""Direct transactions (storage/direct.py): prepared statements on a pooled SQLite connection without a
session, committed or rolled back as a session's would be; on PostgreSQL (and in memory) a session's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, exc, inspect, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from storage import prepared, repos
from storage.db import SQLITE_CONNECTIONS, create_engine, create_sessionmaker, migrate
from storage.direct import DirectTransaction, direct
from storage.models import PersonRow, ServiceRow
from tests.support.databases import migrated_sessions
from tests.support.waiting import eventually_async

NOW = datetime(2031, 3, 4, 10, 30, tzinfo=UTC)  # a stored instant: nothing here compares it with the clock


@pytest.fixture
async def sessions(any_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated_sessions(any_database_url) as made:
        yield made


def on_sqlite(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return bool(sessions.kw["bind"].dialect.name == "sqlite")


async def names(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as session:
        rows = (await session.execute(text("SELECT id, first_name FROM persons"))).all()
    return {row.id: row.first_name for row in rows}


async def test_a_direct_transaction_commits_its_statements_together(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with direct(sessions) as transaction:
        assert isinstance(transaction, DirectTransaction if on_sqlite(sessions) else AsyncSession)
        await repos.save_person(transaction, 1, "Ann", None, NOW)
        await repos.save_person(transaction, 2, "Bob", "bob", NOW)
        found = await repos.persons_names(transaction, [1, 2])  # its own writes, before the commit
    assert {key: row.first_name for key, row in found.items()} == {1: "Ann", 2: "Bob"}
    assert await names(sessions) == {1: "Ann", 2: "Bob"}


async def test_a_block_that_raises_leaves_nothing_written_and_the_next_transaction_goes_on(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(RuntimeError, match="the handler failed"):
        async with direct(sessions) as transaction:
            await repos.save_person(transaction, 1, "Ann", None, NOW)
            raise RuntimeError("the handler failed")
    assert await names(sessions) == {}
    async with direct(sessions) as transaction:
        await repos.save_person(transaction, 2, "Bob", None, NOW)
    async with sessions.begin() as session:  # a session writes at once: the write turn was handed on
        await repos.save_person(session, 3, "Cid", None, NOW)
    assert await names(sessions) == {2: "Bob", 3: "Cid"}


async def test_a_failed_commit_is_sqlalchemys_error_and_rolls_back(tmp_path: Path) -> None:
    """A foreign key checked at commit (deferred) fails the commit itself: the caller gets SQLAlchemy's
    IntegrityError, nothing of the transaction stays, and the connection and write turn serve the next (a
    direct transaction is SQLite's: on PostgreSQL the same block is a session's)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await migrate(engine)
    try:
        await _a_failed_commit(create_sessionmaker(engine))
    finally:
        await engine.dispose()


async def _a_failed_commit(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(exc.IntegrityError):
        async with direct(sessions) as transaction:
            await repos.save_person(transaction, 1, "Ann", None, NOW)
            await prepared.run(transaction, text("PRAGMA defer_foreign_keys=ON"))
            await repos.add_order_message(transaction, 404, 1, 10, "owner")  # no order 404
    assert await names(sessions) == {}
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM order_messages"))).scalar() == 0
    for person in range(2, 2 + SQLITE_CONNECTIONS + 1):  # every pooled connection is used again
        async with direct(sessions) as transaction:
            await repos.save_person(transaction, person, f"P{person}", None, NOW)
    assert len(await names(sessions)) == SQLITE_CONNECTIONS + 1


async def test_listeners_see_each_statement_and_each_commit_of_a_transaction_that_wrote(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    engine = sessions.kw["bind"].sync_engine
    statements: list[str] = []
    commits: list[int] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    event.listen(engine, "commit", lambda _connection: commits.append(1))
    async with direct(sessions) as transaction:
        await repos.save_person(transaction, 1, "Ann", None, NOW)
        await repos.person_names(transaction, 1)
    assert statements == ["INSERT", "SELECT"]
    assert commits == [1]
    statements.clear()
    async with direct(sessions) as transaction:  # a read alone: nothing to commit on SQLite
        await repos.person_names(transaction, 1)
    assert statements == ["SELECT"]
    assert len(commits) == (1 if on_sqlite(sessions) else 2)


async def test_many_direct_and_session_writers_at_once_all_land_within_the_pool(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Writers of both kinds take turns on the file (no "database is locked"); direct transactions wait for
    a pooled connection as sessions do, so the pool's bound holds."""
    pool = sessions.kw["bind"].sync_engine.pool
    most = 0
    left = 40  # writers not finished

    def crowded() -> bool:
        """As many writers hold a connection as can: the pool's, or all those left."""
        return bool(pool.checkedout() >= min(SQLITE_CONNECTIONS, left))

    async def direct_writer(person: int) -> None:
        nonlocal most, left
        try:
            async with direct(sessions) as transaction:
                await repos.save_person(transaction, person, f"D{person}", None, NOW)
                # Holding the write turn (on SQLite), until the others wait for it or for a connection.
                await eventually_async(crowded, 10, "the other writers holding connections")
                most = max(most, pool.checkedout())
                await repos.save_person(transaction, person, f"Direct {person}", None, NOW)
        finally:
            left -= 1

    async def session_writer(person: int) -> None:
        nonlocal left
        try:
            async with sessions.begin() as session:
                session.add(PersonRow(id=person, first_name=f"Session {person}", created_at=NOW))
        finally:
            left -= 1

    await asyncio.gather(
        *(direct_writer(person) for person in range(1, 31)),
        *(session_writer(person) for person in range(100, 110)),
    )
    stored = await names(sessions)
    assert stored == {
        **{person: f"Direct {person}" for person in range(1, 31)},
        **{person: f"Session {person}" for person in range(100, 110)},
    }
    if on_sqlite(sessions):
        assert most <= SQLITE_CONNECTIONS
    assert pool.checkedout() == 0


async def test_a_transaction_cancelled_while_it_holds_the_write_turn_gives_back_turn_and_connection(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    wrote = asyncio.Event()

    async def cancelled_writer() -> None:
        async with direct(sessions) as transaction:
            await repos.save_person(transaction, 1, "Ann", None, NOW)
            wrote.set()
            await asyncio.Event().wait()  # held until cancelled

    writer = asyncio.create_task(cancelled_writer())
    await wrote.wait()
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    async with asyncio.timeout(10):  # not the write turn's 30 s: it was handed on
        async with sessions.begin() as session:
            await repos.save_person(session, 2, "Bob", None, NOW)
    assert await names(sessions) == {2: "Bob"}
    assert sessions.kw["bind"].sync_engine.pool.checkedout() == 0


def in_transaction(pooled: Any) -> bool:
    """Whether the pooled connection has a transaction open (SQLite's driver, or asyncpg's)."""
    driver = pooled.driver_connection
    if hasattr(driver, "is_in_transaction"):  # asyncpg
        return bool(driver.is_in_transaction())
    return bool(driver._connection.in_transaction)  # aiosqlite's sqlite3 connection


async def test_connections_go_back_to_the_pool_with_no_transaction_open(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A direct transaction's connection goes back without the pool's reset (a rollback): only once its
    transaction has ended, committed or rolled back. (On PostgreSQL the blocks are sessions', which end
    their transactions the same way.)"""
    engine = sessions.kw["bind"]
    async with direct(sessions) as transaction:
        await repos.save_person(transaction, 1, "Ann", None, NOW)
    with pytest.raises(RuntimeError):
        async with direct(sessions) as transaction:
            await repos.save_person(transaction, 2, "Bob", None, NOW)
            raise RuntimeError("the handler failed")
    async with direct(sessions) as transaction:
        await repos.persons_names(transaction, [1])  # a read only
    idle = engine.sync_engine.pool.checkedin()
    pooled = [await engine.raw_connection() for _ in range(idle)]  # every connection the pool holds idle
    try:
        assert pooled and not any(in_transaction(connection) for connection in pooled)
    finally:
        for connection in pooled:
            await greenlet_spawn(connection.close)
    assert await names(sessions) == {1: "Ann"}


async def test_in_memory_sqlite_runs_them_in_a_session() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    async with direct(sessions) as transaction:
        assert isinstance(transaction, AsyncSession)
        await repos.save_person(transaction, 1, "Ann", None, NOW)
    async with sessions() as session:
        assert (await repos.person_names(session, 1)).first_name == "Ann"  # type: ignore[union-attr]
    await engine.dispose()


async def test_a_service_read_in_a_direct_transaction_is_detached_with_its_values(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The booking steps that only read read the service in a direct transaction: the entity comes detached
    (no session to hold it), every column as stored; in a session it is held as if loaded."""
    async with sessions.begin() as session:
        session.add(PersonRow(id=7, first_name="Olga", created_at=NOW, hours=[[1, "09:00", "17:00"]]))
        await session.flush()
        session.add(
            ServiceRow(
                code="yoga", owner_id=7, name="Yoga", duration_min=45, timezone="Asia/Tokyo", created_at=NOW
            )
        )
    window = (date(2031, 3, 1), date(2031, 3, 31))
    async with direct(sessions) as transaction:
        found = await repos.service_for_booking(transaction, window, code="yoga")
        assert found is not None
        # Held by no session in a direct transaction (on PostgreSQL the block is a session's, which holds it).
        assert inspect(found[0]).detached is on_sqlite(sessions)
    row, hours, status, days_off = found
    assert (row.code, row.name, row.duration_min, row.timezone, row.owner_id) == (
        "yoga",
        "Yoga",
        45,
        "Asia/Tokyo",
        7,
    )
    assert hours == [[1, "09:00", "17:00"]] and status is None and days_off == []
