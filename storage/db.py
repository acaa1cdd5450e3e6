"""Engine, sessions and migrations. Whoever opens a session owns its transaction.

Alembic (with Mako and Pygments, about 8 MiB) is imported only by `migrate`: the serving process learns
the newest migration from the migration files and the database's from `alembic_version`, and runs
`migrate` in a child process when the schema is behind (`bot.migrate`).
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import json_codec
from storage.sqlite import BUSY_TIMEOUT, one_call_per_statement

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
SQLITE_CONNECTIONS = 5  # SQLAlchemy's default pool size, without its overflow (see create_engine)
SQLITE_STATEMENTS = 32  # prepared statements each SQLite connection keeps (Python's default: 128)
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)
# PostgreSQL advisory lock key held while migrating: replicas started together take turns.
MIGRATION_LOCK = 0x626F745F6D6967  # "bot_mig"


class SchemaTooNew(Exception):
    """The database carries a migration this version of the bot does not know."""


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


# JSON columns by orjson (storage/json_codec.py): drafts, job payloads and stored updates, in most writes.
_JSON = {"json_serializer": json_codec.text, "json_deserializer": json_codec.decode}


def create_engine(database_url: str) -> AsyncEngine:
    """Build the engine; on SQLite create the file's folder, use WAL and wait for locks instead of failing.

    SQLite is tuned for one writing process: WAL with synchronous=NORMAL syncs at checkpoints rather than
    at every commit; a commit still survives the process being killed, and only a power loss may drop the
    newest commits (the file stays consistent).

    A file's pool keeps SQLITE_CONNECTIONS connections and opens no more: each is a thread of its own
    (aiosqlite) with its own schema and statement cache, writers take turns on the file anyway, and the
    default overflow of ten more connections, opened and closed again under a burst, cost about 8 MiB of
    peak RSS and CPU for nothing (a session waits for a free connection instead).

    Each connection keeps SQLITE_STATEMENTS prepared statements instead of Python's 128: the bot's ORM
    statements are large programs (about 14 KiB each), and with five connections each keeping its own copy
    of every statement a burst left 5.6 MiB in SQLite; 32 hold a burst's statements for the same CPU.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **_JSON)
    pool: dict[str, Any] = {}
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        pool = {"pool_size": SQLITE_CONNECTIONS, "max_overflow": 0}
    engine = create_async_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT, "cached_statements": SQLITE_STATEMENTS}, **pool, **_JSON
    )
    path = str(Path(url.database).resolve()) if pool and url.database else None

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cursor.close()
        one_call_per_statement(getattr(dbapi_connection, "_connection", None), path)

    return engine


def create_lock_engine(database_url: str) -> AsyncEngine:
    """PostgreSQL connections that only hold advisory locks, apart from the pool the work itself uses
    (a lock held while its update is handled must never starve that handling of a connection)."""
    return create_async_engine(make_url(database_url), pool_pre_ping=True, pool_size=10, max_overflow=30)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def known_revisions() -> dict[str, tuple[str, ...]]:
    """Every migration this code has, with the migrations it follows, read from the files in
    `migrations/versions` as Alembic reads them (`revision` and `down_revision`), without Alembic."""
    known: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = {name: ast.literal_eval(value) for name, value in _ASSIGNMENT.findall(path.read_text())}
        if "revision" not in found:
            continue
        down = found.get("down_revision")
        known[found["revision"]] = tuple(down) if isinstance(down, list | tuple) else (down,) if down else ()
    return known


def head_revision() -> str | None:
    """The newest migration this code knows (the one no other migration follows)."""
    known = known_revisions()
    followed = {down for downs in known.values() for down in downs}
    heads = [revision for revision in known if revision not in followed]
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have more than one head: {sorted(heads)}")
    return heads[0] if heads else None


def _current_revision(connection: Connection) -> str | None:
    """The migration the database is at, read from Alembic's version table (None before the first)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()  # noqa: S608
    if len(rows) > 1:
        raise RuntimeError(f"the database is at more than one migration: {sorted(rows)}")
    return rows[0] if rows else None


def _check_known(connection: Connection) -> str | None:
    """The database's migration; `SchemaTooNew` when this code does not know it."""
    current = _current_revision(connection)
    if current is not None and current not in known_revisions():
        raise SchemaTooNew(
            f"the database schema is at migration {current}, newer than this version of the bot knows "
            f"(its newest is {head_revision()}); run the newer version"
        )
    return current


def _upgrade(connection: Connection) -> None:
    from alembic import command

    _check_known(connection)
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def _hold_migration_lock(connection: Any) -> None:
    """On PostgreSQL, wait for any other process migrating; released when the transaction ends."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent, one process at a time).

    Raises `SchemaTooNew` when the database was migrated by a newer version of the bot.
    """
    async with engine.begin() as connection:
        await _hold_migration_lock(connection)
        await connection.run_sync(_upgrade)


async def schema_is_current(engine: AsyncEngine) -> bool:
    """Whether the schema is at the newest migration (else `migrate` has work to do); without Alembic.

    Raises `SchemaTooNew` when the database was migrated by a newer version of the bot.
    """
    async with engine.connect() as connection:
        current = await connection.run_sync(_check_known)
    return current is not None and current == head_revision()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None before the first)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)
