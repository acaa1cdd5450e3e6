"""Handled stored updates are recorded as processed together: updates of several chats that finish while
one transaction runs share the next one, and each caller returns only once its update is recorded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.domain import utcnow
from bot.telegram.intake import Finishes
from storage import repos
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import ReceivedUpdateRow

UPDATES = list(range(501, 509))


async def with_stored_updates(url: str) -> tuple[Any, Any]:
    """A migrated database holding UPDATES as received (not processed yet), and its sessions."""
    engine = create_engine(url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        await repos.store_updates(
            session, [(update_id, 7, {"update_id": update_id}) for update_id in UPDATES], utcnow()
        )
    return engine, sessions


async def stored(sessions: Any) -> set[int]:
    async with sessions() as session:
        return set(await session.scalars(select(ReceivedUpdateRow.update_id)))


async def test_updates_finishing_together_are_recorded_in_one_transaction_each_caller_after_its_commit(
    any_database_url: str,
) -> None:
    engine, sessions = await with_stored_updates(any_database_url)
    commits: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _connection: commits.append(1))
    finishes = Finishes(sessions)

    async def finish(update_id: int) -> None:
        await finishes.finish(update_id)
        async with sessions() as session:  # recorded by the time the caller goes on
            assert await repos.is_processed(session, update_id)

    await asyncio.gather(*(finish(update_id) for update_id in UPDATES))

    assert len(commits) <= 2, "eight updates finishing at once take at most two transactions"
    assert await stored(sessions) == set()
    async with sessions.begin() as session:
        assert await repos.known_updates(session, UPDATES) == set(UPDATES)
    await engine.dispose()


async def test_a_failed_transaction_fails_each_of_its_updates_and_the_next_ones_go_on(
    any_database_url: str,
) -> None:
    engine, sessions = await with_stored_updates(any_database_url)
    failing = {"on": True}

    def refuse(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if failing["on"] and "processed_updates" in statement:
            raise RuntimeError("the database refused")

    event.listen(engine.sync_engine, "before_cursor_execute", refuse)
    finishes = Finishes(sessions)
    results = await asyncio.gather(*(finishes.finish(u) for u in UPDATES[:3]), return_exceptions=True)
    assert all(isinstance(result, Exception) for result in results), results
    assert await stored(sessions) == set(UPDATES), "nothing of a failed transaction is recorded"

    failing["on"] = False
    await finishes.finish(UPDATES[3])
    assert await stored(sessions) == set(UPDATES) - {UPDATES[3]}
    await engine.dispose()


@pytest.mark.parametrize("count", [1, 3])
async def test_finish_received_records_and_drops_any_number_of_updates(
    any_database_url: str, count: int
) -> None:
    engine = create_engine(any_database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        await repos.store_updates(session, [(update_id, 7, {}) for update_id in UPDATES], utcnow())
    async with sessions.begin() as session:
        await repos.finish_received(session, UPDATES[:count], utcnow())
        await repos.finish_received(session, UPDATES[:count], utcnow())  # again: nothing more happens
    assert await stored(sessions) == set(UPDATES[count:])
    async with sessions() as session:
        assert all([await repos.is_processed(session, u) for u in UPDATES[:count]])
        assert not await repos.is_processed(session, UPDATES[count])
    await engine.dispose()
