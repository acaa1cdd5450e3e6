"""Databases for the suite: a fresh one per test, copied from a template migrated once per session."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
import pytest

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


_POSTGRES: bool | None = None


def postgres_available() -> bool:
    """Whether PostgreSQL answers at TEST_POSTGRES_URL (asked once per process); with REQUIRE_POSTGRES set,
    an unreachable PostgreSQL is an error instead of a skip."""
    global _POSTGRES
    if _POSTGRES is None:
        _POSTGRES = postgres_reachable()
        if not _POSTGRES and os.environ.get("REQUIRE_POSTGRES"):
            raise RuntimeError("REQUIRE_POSTGRES is set but PostgreSQL is not reachable at TEST_POSTGRES_URL")
    return _POSTGRES


def database_kinds() -> list[str]:
    """The backends under test: BOT_TEST_DATABASE picks one; the default is SQLite."""
    return [os.environ.get("BOT_TEST_DATABASE", "sqlite")]


def database_kind() -> str:
    """The backend under test, for a test or fixture that makes its own database; skips when it is
    PostgreSQL and that is not reachable."""
    kind = database_kinds()[0]
    if kind == "postgresql" and not postgres_available():
        pytest.skip("PostgreSQL is not reachable at TEST_POSTGRES_URL; its tests are skipped here")
    return kind


@asynccontextmanager
async def migrated_sessions(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the bot's own engine over the database at `url`, migrated to the newest revision (the
    engine is disposed of at the end)."""
    from storage.db import create_engine, create_sessionmaker, migrate

    engine = create_engine(url)
    try:
        await migrate(engine)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _migrate(url: str) -> None:
    from storage.db import create_engine, migrate

    async def run() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


@contextmanager
def migrated_template(kind: str, folder: Path) -> Iterator[str]:
    """A database at the newest migration to copy fresh ones from (`fresh_database(..., template=)`),
    so a session migrates once rather than once per test; the bot's start-up still runs `migrate`."""
    with fresh_database(kind, folder) as url:
        _migrate(url)
        yield url


@contextmanager
def fresh_database(kind: str, folder: Path, template: str | None = None) -> Iterator[str]:
    """A new database: a SQLite file in `folder`, or a PostgreSQL database dropped afterwards; empty, or
    a copy of `template` (a database of the same kind nobody is connected to)."""
    if kind == "sqlite":
        path = folder / "bot.db"
        if template is not None:
            shutil.copyfile(_sqlite_path(template), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    import asyncpg

    name = f"bot_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template is not None else ""
    admin = _asyncpg_dsn(POSTGRES_URL)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# The database, read the way an attacker with the file (or a database login) would, and as tests check it.


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1`, `$2`, ..."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a read query with `?` placeholders, on SQLite or PostgreSQL."""
    if is_sqlite(url):
        with closing(sqlite3.connect(_sqlite_path(url), timeout=30)) as connection:
            return list(connection.execute(sql, args).fetchall())

    async def run() -> list[tuple[Any, ...]]:
        import asyncpg

        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        try:
            return [tuple(row) for row in await connection.fetch(_numbered(sql), *args)]
        finally:
            await connection.close()

    return asyncio.run(run())


def execute(url: str, sql: str, *args: Any) -> None:
    """A write statement with `?` placeholders, committed."""
    if is_sqlite(url):
        connection = sqlite3.connect(_sqlite_path(url), timeout=30)
        try:
            connection.execute(sql, args)
            connection.commit()
        finally:
            connection.close()
        return

    async def run() -> None:
        import asyncpg

        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        try:
            await connection.execute(_numbered(sql), *args)
        finally:
            await connection.close()

    asyncio.run(run())


def database_dump(url: str) -> str:
    """Everything the database holds, as text: every file's bytes on SQLite, every row on PostgreSQL."""
    if is_sqlite(url):
        path = Path(_sqlite_path(url))
        files = [path, *path.parent.glob(path.name + "-*")]  # the WAL and shared-memory files too
        return "\n".join(p.read_bytes().decode("latin-1") for p in files if p.exists())
    tables = [row[0] for row in query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return "\n".join(
        str(row[0])
        for table in tables
        for row in query(url, f'SELECT t::text FROM "{table}" t')  # noqa: S608 - names from pg_tables
    )


def stored_tokens(url: str, owner_id: int) -> list[tuple[Any, ...]]:
    """(status, access_token_enc, refresh_token_enc) of an owner's Zoom connection rows."""
    sql = "SELECT status, access_token_enc, refresh_token_enc FROM zoom_connections WHERE owner_id = ?"
    return query(url, sql, owner_id)


def orders_state(url: str) -> list[tuple[Any, ...]]:
    """What a change to an order would change."""
    sql = "SELECT id, status, version, meeting_state, meeting_id, join_url, name, start_at, duration_min"
    return query(url, sql + " FROM orders ORDER BY id")


def connections_state(url: str) -> list[tuple[Any, ...]]:
    sql = "SELECT owner_id, status, access_token_enc IS NOT NULL FROM zoom_connections ORDER BY owner_id"
    return query(url, sql)


def services_state(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT id, owner_id, name, zoom_enabled FROM services ORDER BY id")


class SQLiteThreadCalls:
    """Counts the calls aiosqlite connections hand to their thread (each is a hand-off the loop waits for)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original: Any = aiosqlite.Connection._execute  # untyped in aiosqlite

        async def counted(connection: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await original(connection, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
