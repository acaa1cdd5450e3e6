"""The process's writers of one SQLite file take turns: first come, first served, handed over at once."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

import storage.sqlite
from storage.sqlite import WriteTurn
from tests.support.waiting import eventually_async


async def test_the_turn_goes_to_the_longest_waiting_writer_as_soon_as_it_is_given_up() -> None:
    turn = WriteTurn()
    got: list[str] = []

    async def writer(name: str) -> None:
        await turn.take(name)
        got.append(name)

    await turn.take("first")
    waiting = [asyncio.create_task(writer(name)) for name in ("second", "third", "fourth")]
    await eventually_async(lambda: turn.waiting == 3, 10, "three writers in line")
    assert got == [] and turn.holder == "first"
    for n, holder in enumerate(("first", "second", "third"), start=1):
        turn.give(holder)
        await eventually_async(lambda n=n: len(got) == n, 10, "the woken writer ran")
        assert got[-1] == turn.holder
    await asyncio.gather(*waiting)
    assert got == ["second", "third", "fourth"]
    turn.give("fourth")
    assert turn.holder is None


async def test_a_writer_cancelled_while_waiting_passes_the_turn_on() -> None:
    turn = WriteTurn()
    await turn.take("first")
    cancelled = asyncio.create_task(turn.take("cancelled"))
    later = asyncio.create_task(turn.take("later"))
    await eventually_async(lambda: turn.waiting == 2, 10, "both in line")
    turn.give("first")  # handed to the waiter just before its cancellation arrives
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await later
    assert turn.holder == "later"


async def test_waiting_longer_than_the_busy_timeout_is_database_is_locked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(storage.sqlite, "BUSY_TIMEOUT", 0.01)
    turn = WriteTurn()
    await turn.take("stuck")
    with pytest.raises(sqlite3.OperationalError, match="database is locked") as raised:
        await turn.take("waiter")
    assert raised.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
    turn.give("stuck")
    assert turn.holder is None, "the writer that gave up is not handed the turn"
