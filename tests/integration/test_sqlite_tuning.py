"""SQLite is set up for one writing process: WAL, synchronous=NORMAL, and waiting for locks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import create_engine, create_sessionmaker
from tests.support.databases import SQLiteThreadCalls


async def test_every_sqlite_connection_uses_wal_normal_sync_and_never_waits_in_sqlite(tmp_path: Path) -> None:
    """A statement runs on the event loop's thread, where SQLite must not sleep: waiting for the write lock
    is the process's turn (or, for another process's lock, a retry on the connection's thread with
    BUSY_TIMEOUT; see tests/integration/test_sqlite_writers.py)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    names = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys", "wal_autocheckpoint")
    try:
        async with engine.connect() as connection:
            pragmas = {name: (await connection.execute(text(f"PRAGMA {name}"))).scalar() for name in names}
    finally:
        await engine.dispose()
    # synchronous 1 is NORMAL: with WAL a commit survives the process being killed (kill -9); only a power
    # loss may drop the newest commits, and the database stays consistent either way.
    # wal_autocheckpoint 0: checkpoints (which sync the file) run on the connection's thread, not the loop's.
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 0,
        "foreign_keys": 1,
        "wal_autocheckpoint": 0,
    }


async def test_a_statement_and_its_commit_need_no_call_on_the_sqlite_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiosqlite would hand each step (cursor, execute, fetch, close) to its thread apart: four hand-overs
    per read, each (about 100 us of CPU) costing more than SQLite's own work on a small statement."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    sessions = create_sessionmaker(engine)
    counter = SQLiteThreadCalls(monkeypatch)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
        async with sessions() as session:  # the pool's first connection and the table are ready
            await session.execute(text("SELECT 1"))
        counter.calls = 0
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
        wrote = counter.calls
        counter.calls = 0
        async with sessions() as session:
            names = list(await session.scalars(text("SELECT name FROM t ORDER BY id")))
        read = counter.calls
        async with sessions() as session:  # a write rolled back is gone, as before
            await session.execute(text("INSERT INTO t (name) VALUES ('c')"))
            await session.rollback()
            left = list(await session.scalars(text("SELECT name FROM t ORDER BY id")))
    finally:
        await engine.dispose()
    assert names == ["a", "b"] and left == ["a", "b"]
    assert (wrote, read) == (0, 0), "statements and commits run on the event loop's thread"
