"""Each SQLite connection keeps at most SQLITE_STATEMENTS prepared statements (issue 13): with Python's
default of 128 per connection and five connections, a burst left 5.6 MiB of the ORM's statements in SQLite."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from storage.db import SQLITE_STATEMENTS, create_engine


def sqlite_library() -> ctypes.CDLL | None:
    """SQLite as Python's sqlite3 module loaded it (None where it is built into the module)."""
    try:
        library = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        return None
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return library


SQLITE = sqlite_library()
WIDE = ", ".join(f"{n} AS c{n}" for n in range(200))  # a statement as large as the ORM's


@pytest.mark.skipif(SQLITE is None, reason="needs SQLite as a shared library to read its memory")
async def test_a_connection_keeps_a_bounded_number_of_prepared_statements(tmp_path: Path) -> None:
    assert SQLITE is not None
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
            start = SQLITE.sqlite3_memory_used()
            for n in range(8):
                await connection.exec_driver_sql(f"SELECT {n}, {WIDE}")
            statement = (SQLITE.sqlite3_memory_used() - start) / 8
            for n in range(8, SQLITE_STATEMENTS * 4):
                await connection.exec_driver_sql(f"SELECT {n}, {WIDE}")
            kept = (SQLITE.sqlite3_memory_used() - start) / statement
    finally:
        await engine.dispose()
    assert SQLITE_STATEMENTS - 8 <= kept <= SQLITE_STATEMENTS + 8
