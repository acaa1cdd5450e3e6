"""Test support: databases for the suite (the sandbox harness lives in `sandbox.harness`)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sandbox.harness import BotProcess, Sandbox, bot_environment, start_sandbox
from sandbox.telegram.client import SentMessage, TelegramUser


def owner_zone_at(local_time: str, now: datetime | None = None) -> str:
    """The IANA zone (Area/City) whose wall clock is closest to `local_time` (HH:MM) at `now`.

    Offsets run from -12:00 to +14:00, so every time of day is within half an hour of some zone's.
    """
    hours, minutes = (int(part) for part in local_time.split(":"))
    target = hours * 60 + minutes
    moment = now or datetime.now(UTC)

    def distance(zone: str) -> tuple[int, str]:
        local = moment.astimezone(ZoneInfo(zone))
        gap = abs(local.hour * 60 + local.minute - target)
        return min(gap, 24 * 60 - gap), zone

    areas = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")
    return min((zone for zone in available_timezones() if zone.startswith(areas)), key=distance)


def _owner_zone() -> str:
    """BOT_TEST_TIMEZONE, else the zone where it is BOT_TEST_LOCAL_TIME (HH:MM) now, else Europe/Berlin.

    Exported as BOT_TEST_TIMEZONE, so the bot processes (DEFAULT_TIMEZONE, see `sandbox.harness`), xdist
    workers and the tests all use the one zone chosen when the run started.
    """
    zone = os.environ.get("BOT_TEST_TIMEZONE")
    if not zone:
        wanted = os.environ.get("BOT_TEST_LOCAL_TIME")
        zone = owner_zone_at(wanted) if wanted else "Europe/Berlin"
        os.environ["BOT_TEST_TIMEZONE"] = zone
    return zone


# The time zone of the owners in the end-to-end tests (and the bot's DEFAULT_TIMEZONE there).
OWNER_ZONE = _owner_zone()

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

__all__ = [
    "OWNER_ZONE",
    "BotProcess",
    "Sandbox",
    "barrier",
    "probe",
    "query_rows",
    "wait_until",
    "wait_for_drained_jobs",
    "bot_environment",
    "fresh_database",
    "owner_zone_at",
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


# --- Waiting ------------------------------------------------------------------------------------------------


def wait_until(condition: Callable[[], object], timeout: float = 30.0, description: str = "") -> None:
    """Poll `condition` until it is true; fail with `description` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g}s: {description or condition}")
        time.sleep(0.05)


# --- Waiting before "nothing happened" ----------------------------------------------------------------------

PROBE = "/help"


def barrier(chat: TelegramUser | None = None, database_url: str | None = None, timeout: float = 30.0) -> None:
    """Wait until the bot has finished what it was given so far; call it before asserting that something
    did NOT happen, instead of sleeping.

    `chat`: a probe from that chat is answered first (see `probe`; leave the probe and its answer out of
    what is compared). `database_url`: then the job queue has drained (see `wait_for_drained_jobs`), so what
    the handled updates, callbacks and webhooks queued has been done, messages to other chats included.
    """
    if chat is not None:
        probe(chat, timeout)
    if database_url is not None:
        wait_for_drained_jobs(database_url, timeout=timeout)


def probe(chat: TelegramUser, timeout: float = 30.0) -> SentMessage:
    """Send /help from `chat` and return the bot's answer to it.

    The bot handles a chat's updates one at a time and in order, so once the probe is answered every
    earlier update of that chat has been handled. The probe does not touch a step in progress.
    """
    sent = chat.send(PROBE)
    return chat.wait_for(
        lambda m: m.message_id > sent and "/newservice" in m.text,
        timeout=timeout,
        description="the answer to the barrier's probe (/help)",
    )


def wait_for_drained_jobs(database_url: str, *, horizon: float = 5.0, timeout: float = 30.0) -> None:
    """Wait until no job is running or due within `horizon` seconds; fail with the busy jobs otherwise."""
    wait_until(lambda: not busy_jobs(database_url, horizon), timeout, "the job queue drained")


def busy_jobs(database_url: str, horizon: float = 0.0) -> list[tuple[Any, ...]]:
    """(id, kind, run_at, locked_until) of the pending jobs that are running or due within `horizon` s."""
    rows = query_rows(
        database_url, "SELECT id, kind, run_at, locked_until FROM jobs WHERE status = 'pending'"
    )
    soon = datetime.now(UTC) + timedelta(seconds=horizon)
    return [row for row in rows if row[3] is not None or _utc(row[2]) <= soon]


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def query_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a read-only query without parameters, on SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            return list(connection.execute(sql).fetchall())

    async def run() -> list[tuple[Any, ...]]:
        import asyncpg

        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()

    return asyncio.run(run())
