"""The one way tests wait: poll a check until it holds or a deadline passes (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, overload

from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.databases import _asyncpg_dsn, query

T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float, description: str, interval: float = 0.1) -> T:
    """The first truthy value of `check()`, polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g}s: {description}")
        time.sleep(interval)


@overload
async def eventually_async(
    check: Callable[[], Awaitable[T | None]], seconds: float, description: str, interval: float = 0.01
) -> T: ...


@overload
async def eventually_async(
    check: Callable[[], T | None], seconds: float, description: str, interval: float = 0.01
) -> T: ...


async def eventually_async(
    check: Callable[[], Any], seconds: float, description: str, interval: float = 0.01
) -> Any:
    """`eventually` inside an event loop (`check` may be a coroutine function): the first truthy value of
    `check()`, polling for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        value = await found if inspect.isawaitable(found) else found
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {seconds:g}s: {description}")
        await asyncio.sleep(interval)


async def lock_waiters(database_url: str, count: int = 1, seconds: float = 10) -> None:
    """Until `count` sessions of this PostgreSQL database wait on a lock (a row, an advisory lock): the
    barrier that a racing statement has reached the database and is blocked there."""
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(database_url), timeout=5)
    sql = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    async def enough() -> bool | None:
        return int(await connection.fetchval(sql)) >= count

    try:
        await eventually_async(enough, seconds, f"{count} session(s) waiting on a lock")
    finally:
        await connection.close()


def wait_until(condition: Callable[[], object], timeout: float = 30.0, description: str = "") -> None:
    """Poll `condition` until it is true; fail with `description` after `timeout` seconds (`eventually`)."""
    eventually(condition, timeout, description or repr(condition), interval=0.05)


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


def stays_the_same(measure: Callable[[], T], chat: TelegramUser, database_url: str) -> T:
    """Assert that `measure()` is unchanged once the bot has handled everything so far (a probe answered in
    `chat`, then the job queue drained: `barrier`); returns its value."""
    first = measure()
    barrier(chat, database_url)
    now = measure()
    assert now == first, f"changed from {first!r} to {now!r} while it should stay the same"
    return first


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
    rows = query(database_url, "SELECT id, kind, run_at, locked_until FROM jobs WHERE status = 'pending'")
    soon = datetime.now(UTC) + timedelta(seconds=horizon)
    return [row for row in rows if row[3] is not None or _utc(row[2]) <= soon]


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
