"""SQLite statements run on the event loop's thread, and the process's writers take turns without waiting in
SQLite's busy handler (issue 13): it sleeps 1 to 100 ms between tries, and under a burst the first write of
a transaction waited 5-17 ms on average while the lock was often free."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, closing
from pathlib import Path

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage.sqlite
from storage.db import SQLITE_CONNECTIONS, create_engine, create_sessionmaker
from tests.support.databases import SQLiteThreadCalls
from tests.support.waiting import eventually_async


@asynccontextmanager
async def database(path: Path) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    """An engine over a file with a table `t`, every pooled connection open already."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
        async with AsyncExitStack() as stack:
            for _ in range(SQLITE_CONNECTIONS):
                connection = await stack.enter_async_context(engine.connect())
                await connection.execute(text("SELECT 1"))
        yield engine, create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def names(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(text("SELECT name FROM t ORDER BY id")))


async def test_a_statement_runs_on_the_event_loops_thread(tmp_path: Path) -> None:
    async with database(tmp_path / "bot.db") as (engine, sessions):
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.create_function("thread", 0, threading.get_ident)  # type: ignore[union-attr]
            read = (await connection.execute(text("SELECT thread()"))).scalar()
            await connection.execute(text("INSERT INTO t (name) VALUES (CAST(thread() AS TEXT))"))
            await connection.commit()
        assert await names(sessions) == [str(read)]
    assert read == threading.get_ident()


async def test_a_long_read_moves_to_the_sqlite_thread(tmp_path: Path) -> None:
    """A read that takes SQLite more than a moment (a listing over a large store) must not hold up the event
    loop: it is interrupted there and runs again on the connection's thread."""
    long = (
        "SELECT count(*) FROM"
        " (WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 300000) SELECT x FROM s)"
    )
    async with database(tmp_path / "bot.db") as (engine, _sessions):
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.create_function("thread", 0, threading.get_ident)  # type: ignore[union-attr]
            short = (await connection.execute(text("SELECT thread()"))).scalar()
            counted, ran_on = (await connection.execute(text(f"SELECT ({long}), thread()"))).one()
            await connection.execute(text("INSERT INTO t (name) VALUES ('after')"))  # the loop again
            await connection.execute(
                text(f"INSERT INTO t (name) SELECT ({long})")
            )  # a write is not interrupted
            await connection.commit()
            written = list((await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars())
    assert short == threading.get_ident() and ran_on != threading.get_ident()
    assert counted == 300000 and written == ["after", "300000"]


async def test_two_writers_take_turns_without_waiting_in_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second writer waits for the first's commit in the process, not in SQLite's busy handler (which
    would be a call on the connection's thread, sleeping)."""
    path = tmp_path / "bot.db"
    async with database(path) as (_engine, sessions):
        calls = SQLiteThreadCalls(monkeypatch)
        events: list[str] = []
        second_started = asyncio.Event()

        async def second() -> None:
            async with sessions.begin() as session:
                await session.execute(text("SELECT count(*) FROM t"))  # a read does not wait
                second_started.set()
                await session.execute(text("INSERT INTO t (name) VALUES ('second')"))
                events.append("second wrote")

        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('first')"))
            events.append("first wrote")
            task = asyncio.create_task(second())
            await second_started.wait()
            turn = storage.sqlite.write_turn(str(path.resolve()))
            await eventually_async(lambda: turn.waiting == 1, 10, "the second writer in line for the turn")
            events.append("first commits")
        await task
        assert await names(sessions) == ["first", "second"]
        assert calls.calls == 0, "no statement waited in SQLite's busy handler on the connection's thread"
    assert events == ["first wrote", "first commits", "second wrote"]


async def test_a_burst_of_writers_all_commit_without_a_call_on_the_sqlite_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.sqlite, "CHECKPOINT_COMMITS", 10**9)
    writers, finished = SQLITE_CONNECTIONS * 2, []
    async with database(tmp_path / "bot.db") as (_engine, sessions):
        calls = SQLiteThreadCalls(monkeypatch)
        turn = storage.sqlite.write_turn(str((tmp_path / "bot.db").resolve()))

        def another_in_line_or_none_left() -> bool:
            return turn.waiting > 0 or len(finished) == writers - 1

        async def writer(n: int) -> None:
            for m in range(20):
                async with sessions.begin() as session:
                    await session.execute(text("SELECT count(*) FROM t"))
                    await session.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": f"{n}-{m}"})
                    # The turn is held until another writer waits for it: the burst contends for real.
                    await eventually_async(another_in_line_or_none_left, 10, "another writer in line")
                    await session.execute(text("UPDATE t SET name = name WHERE id = 1"))
            finished.append(n)

        await asyncio.gather(*(writer(n) for n in range(writers)))
        written = await names(sessions)
        assert calls.calls == 0
    assert sorted(written) == sorted(f"{n}-{m}" for n in range(writers) for m in range(20))


async def test_a_checkpoint_runs_on_the_sqlite_thread_every_so_many_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint writes the WAL into the database file and syncs it: the event loop must not wait."""
    monkeypatch.setattr(storage.sqlite, "CHECKPOINT_COMMITS", 3)
    ran: list[tuple[str, int]] = []
    async with database(tmp_path / "bot.db") as (engine, sessions):
        async with AsyncExitStack() as stack:
            for _ in range(SQLITE_CONNECTIONS):
                connection = await stack.enter_async_context(engine.connect())
                raw = (await connection.get_raw_connection()).driver_connection
                raw._conn.set_trace_callback(lambda sql: ran.append((sql, threading.get_ident())))  # type: ignore[union-attr]
        for n in range(7):
            async with sessions.begin() as session:
                await session.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": str(n)})
        async with sessions.begin() as session:  # read only: no commit, no checkpoint
            await session.execute(text("SELECT count(*) FROM t"))
        assert len(await names(sessions)) == 7
    checkpoints = [thread for sql, thread in ran if "wal_checkpoint" in sql]
    assert len(checkpoints) == 2 and threading.get_ident() not in checkpoints


async def test_another_process_holding_the_write_lock_does_not_block_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's writer (here a plain connection on a thread) is waited for on the connection's
    thread with SQLite's busy timeout, as before: the event loop keeps running meanwhile."""
    path = tmp_path / "bot.db"
    async with database(path) as (_engine, sessions):
        holding, release = threading.Event(), threading.Event()

        def other_process() -> None:
            with closing(sqlite3.connect(path, isolation_level=None)) as other:
                other.execute("BEGIN IMMEDIATE")
                other.execute("INSERT INTO t (name) VALUES ('other')")
                holding.set()
                release.wait(timeout=60)
                other.execute("COMMIT")

        holder = threading.Thread(target=other_process)
        holder.start()
        try:
            await asyncio.to_thread(holding.wait, 60)

            async def write() -> None:
                async with sessions.begin() as session:
                    await session.execute(text("INSERT INTO t (name) VALUES ('ours')"))

            calls = SQLiteThreadCalls(monkeypatch)
            writing = asyncio.create_task(write())
            # The loop runs this wait while the statement waits on the connection's thread.
            await eventually_async(
                lambda: calls.calls >= 1, 10, "the statement handed to the connection's thread"
            )
            blocked = writing.done()
        finally:
            release.set()
            await asyncio.to_thread(holder.join, 60)
        await writing
        assert await names(sessions) == ["other", "ours"]
    assert not blocked, "the loop ran while the statement waited for the other writer"


async def test_a_writer_waiting_on_a_writer_it_holds_up_gets_database_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with SQLite's busy timeout: a deadlock (or a stuck holder) ends in an error, not a hang."""
    monkeypatch.setattr(storage.sqlite, "BUSY_TIMEOUT", 0.05)
    async with database(tmp_path / "bot.db") as (_engine, sessions):
        async with sessions.begin() as holder:
            await holder.execute(text("INSERT INTO t (name) VALUES ('holder')"))
            async with sessions() as waiter:
                with pytest.raises(exc.OperationalError, match="database is locked") as raised:
                    await waiter.execute(text("INSERT INTO t (name) VALUES ('waiter')"))
                await waiter.rollback()
        assert isinstance(raised.value.orig, sqlite3.OperationalError)
        async with sessions.begin() as session:  # the turn is free again
            await session.execute(text("INSERT INTO t (name) VALUES ('later')"))
        assert await names(sessions) == ["holder", "later"]


async def test_an_in_memory_database_bound_to_its_thread_still_works() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    sessions = create_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
            await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
        async with sessions() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('b')"))
            await session.rollback()
        assert await names(sessions) == ["a"]
    finally:
        await engine.dispose()
