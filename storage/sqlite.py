"""SQLite statements run on the event loop's thread, and the process's writers take turns in process.

aiosqlite hands every call to the connection's own thread: a queue put, a thread wake-up, a wake-up of the
loop (about 100 us of CPU per statement, against about 6 us of SQLite's own work on the bot's small
statements). A file's connection is opened with `check_same_thread=False` (SQLAlchemy's default for a file),
so each statement runs on the loop's thread instead, one at a time per connection (the adapter awaits each;
a call still queued on the connection's thread sends the next ones there too).

Running on the loop, a statement must not wait: the connection's busy timeout is 0, so SQLite answers
SQLITE_BUSY at once instead of sleeping. Within the process nothing waits in SQLite for the write lock: a
transaction's first writing statement first takes the file's `WriteTurn` (held until its commit or
rollback), so the lock is free when the statement runs, and the next writer gets it as soon as the holder
ends (SQLite's busy handler sleeps 1 to 100 ms between tries and left the lock idle under a burst). When
SQLite still answers SQLITE_BUSY (another process writes: `migrate`, an admin command; or a reader meets
WAL recovery), nothing was done, and the statement runs again on the connection's thread with the busy
timeout of BUSY_TIMEOUT seconds, as before, so the loop never waits for another process.

A long read (a listing over a large store) would hold up everything else the loop serves: a read that
takes more than LOOP_STEPS of SQLite's VM steps is interrupted (SQLite's progress handler) and runs again
on the connection's thread; a read changes nothing, so running it again is safe.

Checkpoints copy the WAL into the database file and sync it, which would block the loop: SQLite's automatic
checkpoint after a commit is off on these connections, and every CHECKPOINT_COMMITS commits of the file the
committing connection runs a passive checkpoint on its thread.

A connection bound to the thread that opened it (an in-memory database) runs everything on its thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

BUSY_TIMEOUT = 30.0  # seconds a statement waits for the write lock: the process's turn, or SQLite's
CHECKPOINT_COMMITS = 100  # commits between passive checkpoints (SQLite's automatic one: after 1000 pages)
SQLITE_BUSY = 5  # SQLite's primary result code, also the low byte of SQLITE_BUSY_SNAPSHOT, ..._RECOVERY
SQLITE_INTERRUPT = 9
LOOP_STEPS = 100_000  # SQLite VM steps (1 to 3 ms here) a read may take on the loop before it moves
_AIOSQLITE_INTERNALS = ("_execute", "_conn", "commit", "rollback", "close", "stop")
_READS = ("SELECT", "EXPLAIN")  # statements that never take the write lock (see `_may_write`)

T = TypeVar("T")
logger = logging.getLogger(__name__)


def database_is_locked() -> sqlite3.OperationalError:
    """The error SQLite raises when its busy timeout ran out."""
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = SQLITE_BUSY
    error.sqlite_errorname = "SQLITE_BUSY"
    return error


class WriteTurn:
    """The right to write to one database file, taken by one connection of the process at a time.

    Handed to the longest waiting connection as soon as its holder gives it up (first come, first served);
    a connection that waited BUSY_TIMEOUT seconds gets `database is locked`, as from SQLite itself (a
    holder that waits for a second writer would otherwise wait forever)."""

    def __init__(self) -> None:
        self.holder: object | None = None
        self.commits = 0  # since the last checkpoint
        self._waiters: deque[tuple[asyncio.Future[None], object]] = deque()

    @property
    def waiting(self) -> int:
        """Connections in line for the turn."""
        return sum(1 for waiter, _ in self._waiters if not waiter.done())

    async def take(self, owner: object) -> None:
        if self.holder is None and not self._waiters:
            self.holder = owner
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        entry = (waiter, owner)
        self._waiters.append(entry)
        timer = loop.call_later(BUSY_TIMEOUT, _give_up, waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give(owner)  # handed over just as this wait was cancelled: pass it on
            elif entry in self._waiters:
                self._waiters.remove(entry)
            raise
        finally:
            timer.cancel()

    def give(self, owner: object) -> None:
        if self.holder is not owner:
            return
        self.holder = None
        while self._waiters:
            waiter, next_owner = self._waiters.popleft()
            if not waiter.done():
                self.holder = next_owner
                waiter.set_result(None)
                return


def _give_up(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(database_is_locked())


_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WriteTurn]] = (
    weakref.WeakKeyDictionary()
)


def write_turn(path: str) -> WriteTurn:
    """The turn of the database file at `path` among the connections of the running event loop."""
    turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
    return turns.setdefault(path, WriteTurn())


@functools.lru_cache(maxsize=1024)  # the bot's statements are a few hundred texts, each run again and again
def _may_write(sql: str) -> bool:
    """Whether a statement may take the write lock (a SAVEPOINT counts: the transaction it opens will)."""
    if sql.lstrip()[:6].upper() == "PRAGMA":
        return "=" in sql
    return not _is_read(sql)


@functools.lru_cache(maxsize=1024)  # (`lstrip` copied a statement's whole text at every run)
def _is_read(sql: str) -> bool:
    """A SELECT: SQLite runs it read-only, so interrupting it undoes nothing else in its transaction."""
    return sql.lstrip()[:7].upper().startswith(_READS)


class SQLiteStatements:
    """Where and when one aiosqlite connection runs its statements (see the module's docstring)."""

    def __init__(self, connection: Any, path: str | None) -> None:
        self.connection = connection
        self.path = path
        self.on_loop = path is not None and _usable_here(connection._conn)
        self._turn: WriteTurn | None = None
        self._handed: list[threading.Event] = []  # set once a call handed to the connection's thread is done
        self._checkpoint: asyncio.Task[None] | None = None
        self._reading_on_loop = False  # the progress handler interrupts only a read on the loop's thread

    @property
    def raw(self) -> sqlite3.Connection:
        return self.connection._conn  # type: ignore[no-any-return]

    def turn(self) -> WriteTurn | None:
        if self._turn is None and self.on_loop and self.path is not None:
            self._turn = write_turn(self.path)
        return self._turn

    def give_up_turn(self) -> None:
        """The connection closes: a transaction it left open ends with it."""
        if self._turn is not None:
            self._turn.give(self)

    def idle(self) -> bool:
        """No transaction open (a commit or rollback has nothing to do)."""
        try:
            return not self.raw.in_transaction
        except sqlite3.ProgrammingError:  # a connection bound to its thread (in memory): ask there
            return False

    async def statement(self, sql: str, run: Callable[[], T]) -> T:
        turn = self.turn()
        if turn is not None and turn.holder is not self and _may_write(sql) and not self.raw.in_transaction:
            await turn.take(self)
        try:
            return await self.call(run, read=_is_read(sql))
        finally:
            if turn is not None and not self.raw.in_transaction:
                turn.give(self)

    async def end(self, finish: Callable[[], None]) -> None:
        """Commit or roll back, then hand the write turn on (and checkpoint now and then)."""
        turn = self.turn()
        wrote = turn is not None and turn.holder is self
        try:
            await self.call(finish)
        finally:
            if turn is not None and not self.raw.in_transaction:
                turn.give(self)
        if wrote and turn is not None:
            turn.commits += 1
            if turn.commits >= CHECKPOINT_COMMITS:
                turn.commits = 0
                self._checkpoint_soon()

    async def call(self, run: Callable[[], T], *, read: bool = False) -> T:
        if not self.on_loop or self._on_thread_still():
            return await self.on_thread(run)
        self._reading_on_loop = read
        try:
            return run()
        except sqlite3.OperationalError as error:
            self._reading_on_loop = False  # before any run on the thread
            if read and error.sqlite_errorcode == SQLITE_INTERRUPT:
                return await self.on_thread(run)  # a long read: nothing to undo
            if error.sqlite_errorcode & 0xFF != SQLITE_BUSY:
                raise
        finally:
            self._reading_on_loop = False
        # Nothing was done (the lock was not taken): wait on the connection's thread as SQLite would.
        return await self.on_thread(lambda: self._patiently(run))

    def too_long_for_the_loop(self) -> bool:
        """SQLite's progress handler, every LOOP_STEPS steps of a statement: whether to interrupt it."""
        return self._reading_on_loop

    def _on_thread_still(self) -> bool:
        """Whether a call handed to the connection's thread is not done yet: the next ones go there too,
        so that the connection runs one thing at a time (SQLite would make the loop wait for it)."""
        if self._handed:
            self._handed = [done for done in self._handed if not done.is_set()]
        return bool(self._handed)

    async def on_thread(self, run: Callable[[], T]) -> T:
        done = threading.Event()
        self._handed.append(done)

        def then_mark_done() -> T:
            try:
                return run()
            finally:
                done.set()

        try:
            return await self.connection._execute(then_mark_done)  # type: ignore[no-any-return]
        except ValueError:  # the connection is closed: nothing will run
            done.set()
            raise

    def _patiently(self, run: Callable[[], T]) -> T:
        self.raw.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        try:
            return run()
        finally:
            self.raw.execute("PRAGMA busy_timeout=0")

    def _checkpoint_soon(self) -> None:
        """A passive checkpoint on the connection's thread, not awaited: the commit is done, and its caller
        need not wait for the copy (nor see it fail)."""
        self._checkpoint = asyncio.get_running_loop().create_task(self.on_thread(self._checkpoint_now))
        self._checkpoint.add_done_callback(_retrieved)

    def _checkpoint_now(self) -> None:
        try:
            self.raw.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        except sqlite3.Error as error:  # the WAL only grows until the next one
            logger.warning("SQLite checkpoint failed: %s", error)


def _retrieved(task: asyncio.Task[None]) -> None:
    error = None if task.cancelled() else task.exception()
    if error is not None and not isinstance(error, ValueError):  # ValueError: the connection closed first
        logger.warning("SQLite checkpoint failed: %r", error)


def _usable_here(raw: sqlite3.Connection) -> bool:
    try:
        raw.in_transaction  # noqa: B018  # raises on a connection bound to the thread that opened it
    except sqlite3.ProgrammingError:
        return False
    return True


class _OneCallCursor:
    """What SQLAlchemy's aiosqlite adapter asks of an aiosqlite cursor, with a statement's whole run (open
    a cursor, execute, fetch every row, close) as one call (see `SQLiteStatements` for where it runs).

    aiosqlite runs each of those steps as its own call on its thread: four hand-overs between the event
    loop and that thread per SELECT (three per write), each a queue put, a thread wake-up and a wake-up of
    the loop, which cost more CPU than SQLite's own work on these small statements. Rows are fetched at
    once, as the adapter does anyway for a cursor that is not server-side (the bot streams no results).
    """

    __slots__ = ("_statements", "description", "lastrowid", "rowcount", "_rows")

    def __init__(self, statements: SQLiteStatements) -> None:
        self._statements = statements
        self.description: Any = None
        self.lastrowid: int | None = None
        self.rowcount = -1
        self._rows: list[Any] = []

    async def execute(self, sql: str, parameters: Any = None) -> _OneCallCursor:
        raw = self._statements.raw

        def run() -> tuple[Any, list[Any], int | None, int]:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, () if parameters is None else parameters)
                description = cursor.description
                rows = cursor.fetchall() if description else []
                return description, rows, cursor.lastrowid, cursor.rowcount
            finally:
                cursor.close()

        ran = await self._statements.statement(sql, run)
        self.description, self._rows, self.lastrowid, self.rowcount = ran
        return self

    async def executemany(self, sql: str, parameters: Any) -> _OneCallCursor:
        raw = self._statements.raw

        def run() -> tuple[int | None, int]:
            cursor = raw.cursor()
            try:
                cursor.executemany(sql, parameters)
                return cursor.lastrowid, cursor.rowcount
            finally:
                cursor.close()

        self.description, self._rows = None, []
        self.lastrowid, self.rowcount = await self._statements.statement(sql, run)
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int = 1) -> list[Any]:
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def close(self) -> None:
        self._rows = []


def one_call_per_statement(connection: Any, path: str | None) -> None:
    """Make an aiosqlite connection to the database file at `path` (None: in memory) run each statement in
    one call, on the loop's thread where it can, taking the file's write turn before it writes (see the
    module's docstring); skip a commit or rollback with no transaction open (SQLite's driver does nothing
    then: a session that only read, or a pooled connection's reset). Left as it is when aiosqlite's
    internals are not the ones this knows."""
    if not all(hasattr(connection, name) for name in _AIOSQLITE_INTERNALS):
        return
    statements = SQLiteStatements(connection, path)
    connection.bot_statements = statements  # storage.prepared runs its statements through it
    if statements.on_loop:
        statements.raw.execute("PRAGMA busy_timeout=0").close()
        statements.raw.execute("PRAGMA wal_autocheckpoint=0").close()
        statements.raw.set_progress_handler(statements.too_long_for_the_loop, LOOP_STEPS)
    close, stop = connection.close, connection.stop

    async def cursor() -> _OneCallCursor:
        return _OneCallCursor(statements)

    async def commit() -> None:
        if not statements.idle():
            await statements.end(statements.raw.commit)

    async def rollback() -> None:
        if not statements.idle():
            await statements.end(statements.raw.rollback)

    async def close_and_give_up_turn() -> None:
        statements.give_up_turn()
        await close()

    def stop_and_give_up_turn() -> Any:
        statements.give_up_turn()
        return stop()

    connection.cursor = cursor
    connection.commit = commit
    connection.rollback = rollback
    connection.close = close_and_give_up_turn
    connection.stop = stop_and_give_up_turn
