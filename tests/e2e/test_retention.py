"""The running bot purges old rows by itself, every PURGE_INTERVAL_SECONDS, and keeps the recent ones."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain import utcnow
from sandbox.harness import BotProcess, Sandbox, bot_environment
from storage.db import create_engine, create_sessionmaker
from storage.models import JobRow, ProcessedUpdateRow, WebhookEventRow
from tests.support.waiting import eventually


@pytest.fixture
def purging_bot(sandbox: Sandbox, database_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess.in_folder(
        sandbox, bot_environment(sandbox, database_url, PURGE_INTERVAL_SECONDS="0.2"), tmp_path
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def add_rows(url: str, tag: str, age: timedelta, update_id: int) -> None:
    """A done job, a Zoom event and a processed update, each `age` old."""

    async def add() -> None:
        engine = create_engine(url)
        at = utcnow() - age
        async with create_sessionmaker(engine).begin() as session:
            session.add(
                JobRow(
                    kind="send",
                    key=f"job-{tag}",
                    payload={},
                    progress={},
                    status="done",
                    attempts=1,
                    run_at=at,
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add(WebhookEventRow(key=f"event-{tag}", event="meeting.updated", received_at=at))
            session.add(ProcessedUpdateRow(update_id=update_id, processed_at=at))
        await engine.dispose()

    asyncio.run(add())


def stored(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(url)
        async with create_sessionmaker(engine)() as session:
            jobs = set(await session.scalars(select(JobRow.key).where(JobRow.kind == "send")))
            events = set(await session.scalars(select(WebhookEventRow.key)))
            updates = {f"update-{i}" for i in await session.scalars(select(ProcessedUpdateRow.update_id))}
        await engine.dispose()
        return jobs | events | updates

    return asyncio.run(read())


def test_the_running_bot_purges_old_rows_again_and_again(purging_bot: BotProcess, database_url: str) -> None:
    recent = {"job-recent", "event-recent", "update-1"}
    add_rows(database_url, "recent", timedelta(hours=2), 1)  # inside every window: Zoom may still retry
    for round_number in (1, 2):  # the second round shows that the purge comes back by itself
        add_rows(database_url, f"old{round_number}", timedelta(days=31), 100 + round_number)
        old = {f"job-old{round_number}", f"event-old{round_number}", f"update-{100 + round_number}"}
        left = eventually(without(database_url, old), 20, f"the old rows of round {round_number} purged")
        assert recent <= left


def without(url: str, old: set[str]) -> Callable[[], set[str] | None]:
    """What is stored, once none of `old` is."""

    def check() -> set[str] | None:
        rows = stored(url)
        return None if rows & old else rows

    return check
