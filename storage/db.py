"""Engine, sessions and migrations. Whoever opens a session owns its transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).with_name("migrations")
# PostgreSQL advisory lock key held while migrating: replicas started together take turns.
MIGRATION_LOCK = 0x626F745F6D6967  # "bot_mig"


class SchemaTooNew(Exception):
    """The database carries a migration this version of the bot does not know."""


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(database_url: str) -> AsyncEngine:
    """Build the engine; on SQLite create the file's folder, use WAL and wait for locks instead of failing.

    SQLite is tuned for one writing process: WAL with synchronous=NORMAL syncs at checkpoints rather than
    at every commit; a commit still survives the process being killed, and only a power loss may drop the
    newest commits (the file stays consistent).
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def create_lock_engine(database_url: str) -> AsyncEngine:
    """PostgreSQL connections that only hold advisory locks, apart from the pool the work itself uses
    (a lock held while its update is handled must never starve that handling of a connection)."""
    return create_async_engine(make_url(database_url), pool_pre_ping=True, pool_size=10, max_overflow=30)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest migration this code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _check_known(connection: Connection) -> None:
    current = _current_revision(connection)
    if current is None:
        return
    try:
        ScriptDirectory.from_config(_config()).get_revision(current)
    except CommandError:
        raise SchemaTooNew(
            f"the database schema is at migration {current}, newer than this version of the bot knows "
            f"(its newest is {head_revision()}); run the newer version"
        ) from None


def _upgrade(connection: Connection) -> None:
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


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None before the first)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)
