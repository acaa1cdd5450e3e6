"""Databases for the suite: a fresh one per test, copied from a template migrated once per session."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
