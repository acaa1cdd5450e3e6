"""SQLite is set up for one writing process: WAL, synchronous=NORMAL, and waiting for locks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine


async def test_every_sqlite_connection_uses_wal_normal_sync_and_waits_for_locks(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        await engine.dispose()
    # synchronous 1 is NORMAL: with WAL a commit survives the process being killed (kill -9); only a power
    # loss may drop the newest commits, and the database stays consistent either way.
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 30000, "foreign_keys": 1}
