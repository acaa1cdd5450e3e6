"""Transactions of prepared statements alone, on a SQLite file, without a session.

A session costs about 150 us of SQLAlchemy's Python to begin, take a connection, commit and close (the ORM's
transaction states, an engine Connection, events, greenlet hand-offs), against 10 to 20 us of SQLite's work
on each of the bot's small statements. Under a burst the bot runs about a dozen transactions per order that
never touch an ORM entity: recording updates as processed, reading persons' languages, claiming jobs and
recording their outcomes. `direct(sessions)` gives those a `DirectTransaction`: a connection of the engine's
own pool (checked out as a session would, and back in without the pool's reset once the transaction
ended: about 30 us in all), storage.prepared's statements run on it, and a commit (or, when the block
fails, a rollback) at the end.

What stays as with a session:
- the pool: its connections and its bound (a transaction waits for a free connection as a session would);
- storage.sqlite's rules: the file's write turn (taken by the first writing statement, handed on at the
  end), checkpoints, long reads moved off the loop;
- the engine's `before_cursor_execute`, `commit` and `rollback` listeners see the statements and the end
  of a transaction that wrote (the metrics' statement count, tests), with None for the Connection there is
  not;
- errors arrive as SQLAlchemy's (a failed commit too), and the transaction is rolled back.

Not available: ORM entities, `session.execute`, and queuing jobs (the outbox wakes the worker after a
session's commit): a transaction that needs them takes a session. On PostgreSQL, and on an in-memory SQLite
database, `direct(sessions)` is `sessions.begin()`: the same repository functions run through a session there.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from storage.sqlite import SQLiteStatements

log = logging.getLogger(__name__)


class DirectTransaction:
    """One transaction on one connection of a SQLite file (see the module's docstring); storage.prepared's
    `run` takes it where it takes a session."""

    __slots__ = ("bind", "statements")

    def __init__(self, bind: AsyncEngine, statements: SQLiteStatements) -> None:
        self.bind = bind  # as a session's: repositories ask it for the dialect
        self.statements = statements

    @property
    def engine(self) -> Engine:
        return self.bind.sync_engine


Transaction = AsyncSession | DirectTransaction  # what storage.prepared's statements run in


@asynccontextmanager
async def direct(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Transaction]:
    """A transaction for prepared statements alone: committed when the block ends, rolled back when it
    raises; a session's (`sessions.begin()`) where a direct one is not possible."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or not _a_sqlite_file(engine):
        async with sessions.begin() as session:
            yield session
        return
    pooled = await engine.raw_connection()
    statements = getattr(pooled.driver_connection, "bot_statements", None)
    if not isinstance(statements, SQLiteStatements) or not statements.on_loop:  # aiosqlite not as known
        await greenlet_spawn(pooled.close)
        async with sessions.begin() as session:
            yield session
        return
    transaction = DirectTransaction(engine, statements)
    try:
        try:
            yield transaction
        except BaseException:
            await _roll_back(transaction)
            raise
        try:
            await _end(transaction, "commit")
        except BaseException:
            await _roll_back(transaction)
            raise
    finally:
        if statements.idle():
            # Back to the pool without the pool's reset (a rollback through the driver's thread, for nothing):
            # the transaction ended, as SQLAlchemy's own Connection does after a commit. No I/O, so no
            # greenlet either (half of a direct transaction's ~40 us of CPU).
            pooled._close_special(transaction_reset=True)
        else:  # a rollback that failed: the connection is not used again
            await greenlet_spawn(pooled.invalidate)
            await greenlet_spawn(pooled.close)


async def _end(transaction: DirectTransaction, how: str) -> None:
    """Commit or roll back (nothing to do when no statement began a transaction), telling the engine's
    listeners as SQLAlchemy does; a driver error as SQLAlchemy's."""
    statements, engine = transaction.statements, transaction.engine
    if statements.idle():
        return
    if engine._has_events:
        getattr(engine.dispatch, how)(None)
    raw = statements.raw
    finish: Callable[[], None] = raw.commit if how == "commit" else raw.rollback
    try:
        await statements.end(finish)
    except sqlite3.Error as error:
        dialect = engine.dialect
        raise exc.DBAPIError.instance(how.upper(), None, error, sqlite3.Error, dialect=dialect) from error


async def _roll_back(transaction: DirectTransaction) -> None:
    """Roll back after an error, which is the one that counts (a failed rollback is only logged)."""
    try:
        await _end(transaction, "rollback")
    except Exception:
        log.warning("Could not roll back a direct transaction", exc_info=True)


def _a_sqlite_file(engine: AsyncEngine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"
