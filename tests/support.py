"""Test support: databases for the suite (the sandbox harness lives in `sandbox.harness`)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.harness import BotInProcess, BotProcess, Sandbox, bot_environment, start_sandbox

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

__all__ = [
    "BotInProcess",
    "BotProcess",
    "Sandbox",
    "bot_environment",
    "fresh_database",
    "postgres_reachable",
    "start_sandbox",
]


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


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A new empty database: a SQLite file in `folder`, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bot.db'}"
        return
    import asyncpg

    name = f"bot_test_{uuid.uuid4().hex[:12]}"
    admin = _asyncpg_dsn(POSTGRES_URL)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
