"""The conversation's hot statements, compiled once and run straight on SQLite's connection.

SQLAlchemy spends about 150 to 250 us of Python on every statement it runs through a session (the ORM's
execute, the greenlet hand-off, an execution context, events, a result object), against about 6 to 20 us of
SQLite's own work on the bot's small statements: under a burst that was a third of the bot's CPU. A
statement run here is a Core statement built once at import (tables' columns, never ORM entities, what
varies as bound parameters): it is compiled once per dialect (and, for an INSERT, per set of columns given),
and on a SQLite file each run takes the session's own connection and transaction, fills the parameters
through the types' bind processors, runs the SQL through `storage.sqlite` (the loop's thread and the file's
write turn, as every other statement), and turns the rows through the types' result processors, which is
what SQLAlchemy would have done, without the rest.

What stays the same as a statement through the session:
- the session's transaction: the statement runs on the connection the session holds (taking one, and
  beginning the transaction, as `session.connection()` does), so commit and rollback cover it;
- pending ORM changes are flushed first (the session's autoflush);
- `before_cursor_execute` listeners of the engine or connection see the statement (metrics, tests);
- a driver error arrives as SQLAlchemy's exception (IntegrityError, OperationalError, ...), with the
  driver's as `orig`.

A statement that needs SQLAlchemy to compute a value at run time (a column default or `onupdate` written
by Python) is refused when compiled: its callers must give every value. On other databases (PostgreSQL),
and on an in-memory SQLite database, statements run through the session as before: the same rows (named
tuples by column) and row count come back.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import BindParameter, ColumnDefault, exc
from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Executable

from storage.direct import DirectTransaction, Transaction
from storage.sqlite import SQLiteStatements


class Ran(NamedTuple):
    """What a statement gave: its rows (named tuples; none for a statement without a result) and, for an
    INSERT, UPDATE or DELETE, how many rows it changed."""

    rows: list[Any]
    rowcount: int

    def first(self) -> Any | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any | None:
        return self.rows[0][0] if self.rows else None


class _Slot(NamedTuple):
    """Where one of the driver's positional arguments comes from."""

    key: str  # the parameter's name
    item: int | None  # which of its items, for a list expanded into an IN (...)
    fixed: Any  # the statement's own value (a literal), where the caller gives none
    process: Callable[[Any], Any] | None  # the type's bind processor


class _Plan(NamedTuple):
    sql: str
    slots: tuple[_Slot, ...]


@dataclass
class _Compiled:
    statement: Executable  # kept: the cache is keyed by its id
    compiled: SQLCompiler
    row: Callable[..., Any] | None  # builds a result row from the driver's tuple
    result_processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: tuple[tuple[str, ColumnDefault], ...]  # Python-side defaults of columns not given
    expanding: tuple[BindParameter[Any], ...]  # IN (...) of a list: the SQL depends on the lists' lengths
    by_lengths: dict[tuple[int, ...], _Plan]  # the plans by those lengths (one plan, by (), without IN lists)
    required: tuple[str, ...]  # the parameters the caller must give
    exact: bool  # the plans are exact (else SQLAlchemy's own expansion runs for each call)


_COMPILED: dict[tuple[int, str, tuple[str, ...]], _Compiled] = {}


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    cache_key = (id(statement), dialect.name, keys)
    found = _COMPILED.get(cache_key)
    if found is not None:
        return found
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)  # type: ignore[attr-defined]
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        raise TypeError(f"not a SQL statement with positional parameters: {statement!r}")
    defaults = []
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if not isinstance(default, ColumnDefault) or not (default.is_scalar or default.is_callable):
            raise ValueError(f"give {column.key!r}: SQLAlchemy would compute it for {compiled.string!r}")
        defaults.append((column.key, default))
    columns = compiled._result_columns or []
    processors = tuple(entry.type._cached_result_processor(dialect, None) for entry in columns)
    row = namedtuple("Row", [entry.keyname for entry in columns], rename=True) if columns else None
    expanding = tuple(compiled.post_compile_params)
    # Names SQLAlchemy escapes, values rendered into the SQL, IN lists of tuples: its own expansion each time.
    exact = not (
        compiled.escaped_bind_names
        or compiled.literal_execute_params
        or any(bind.type._is_tuple_type for bind in expanding)
    )
    required = tuple(sorted({bind.key for bind in compiled.binds.values() if bind.required}))
    found = _Compiled(statement, compiled, row, processors, tuple(defaults), expanding, {}, required, exact)
    _COMPILED[cache_key] = found
    return found


def _plan_of(
    compiled: SQLCompiler, sql: str, positions: Sequence[str], expansion: Mapping[str, list[str]]
) -> _Plan:
    """Where each positional argument of `sql` comes from (`expansion`: an IN list's name to the names of
    its items, as SQLAlchemy expanded it)."""
    items = {
        name: (original, index) for original, names in expansion.items() for index, name in enumerate(names)
    }
    processors: Any = compiled._bind_processors
    slots = []
    for name in positions:
        original, index = items.get(name, (name, None))
        bind = compiled.binds[original]
        fixed = None if bind.required else bind.effective_value
        process = processors.get(original)
        slots.append(_Slot(bind.key, index, fixed, process))
    return _Plan(sql, tuple(slots))


async def run(
    session: Transaction,
    statement: Executable,
    parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Ran:
    """Run a prebuilt Core statement in the session's transaction (see the module's docstring), or in a
    direct transaction (storage.direct); with a list of parameter sets, once per set in one call to the
    driver (rowcount: the sum)."""
    sets = list(parameters) if isinstance(parameters, Sequence) else [parameters or {}]
    many = len(sets) > 1
    if isinstance(session, DirectTransaction):
        engine = session.engine
        dispatch = engine.dispatch if engine._has_events else None
        return await _run_on(session.statements, engine.dialect, dispatch, None, statement, sets, many)
    sync_session = session.sync_session
    if not sync_session._is_clean():
        await session.flush()
    connection = _held_connection(sync_session)
    if connection is None:
        connection = (await session.connection()).sync_connection
        if connection is None:  # only an AsyncConnection not started has none
            raise RuntimeError("the session's connection is not started")
    statements = getattr(connection.connection.driver_connection, "bot_statements", None)
    if not isinstance(statements, SQLiteStatements) or not statements.on_loop:
        return await _through_session(session, statement, sets if many else sets[0])
    events = connection._has_events or connection.engine._has_events
    dispatch = connection.dispatch if events else None
    return await _run_on(statements, connection.dialect, dispatch, connection, statement, sets, many)


async def _run_on(
    statements: SQLiteStatements,
    dialect: Dialect,
    dispatch: Any,  # whose `before_cursor_execute` listeners see the statement (None: there are none)
    connection: Connection | None,  # what they are told it runs on (None in a direct transaction)
    statement: Executable,
    sets: list[Mapping[str, Any]],
    many: bool,
) -> Ran:
    first = sets[0]
    keys = tuple(first) if statement.is_insert else ()
    prepared = _compile(statement, dialect, keys)
    if many:
        if prepared.expanding:
            raise ValueError(
                f"a list of parameter sets for an expanding statement: {prepared.compiled.string!r}"
            )
        sql, arguments = _arguments(prepared, first)
        arguments = [arguments, *(_arguments(prepared, values)[1] for values in sets[1:])]
    else:
        sql, arguments = _arguments(prepared, first)
    if dispatch is not None:
        dispatch.before_cursor_execute(connection, None, sql, arguments, None, many)
    raw = statements.raw

    def execute() -> tuple[list[Any], int]:
        cursor = raw.cursor()
        try:
            if many:
                cursor.executemany(sql, arguments)
                return [], cursor.rowcount
            cursor.execute(sql, arguments)
            return (cursor.fetchall() if cursor.description else []), cursor.rowcount
        finally:
            cursor.close()

    try:
        found, rowcount = await statements.statement(sql, execute)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, arguments, error, sqlite3.Error, dialect=dialect) from error
    return Ran(_rows(prepared, found), rowcount)


def _held_connection(sync_session: Session) -> Connection | None:
    """The connection of the session's transaction under way (None: none yet; `session.connection()`
    begins one). What `session.connection()` returns then, without its hand-off to a greenlet."""
    transaction = sync_session._transaction
    if transaction is None or not transaction.is_active or sync_session.bind is None:
        return None
    held = transaction._connections.get(sync_session.bind)
    return held[0] if held is not None else None


def _arguments(prepared: _Compiled, parameters: Mapping[str, Any]) -> tuple[str, Any]:
    """The SQL (IN lists expanded to their lengths) and the driver's positional arguments."""
    if prepared.defaults:
        parameters = {**_defaults(prepared, parameters), **parameters}
    missing = [key for key in prepared.required if key not in parameters]
    if missing:
        raise exc.ArgumentError(
            f"a value is required for bind parameters {missing} of {prepared.compiled.string!r}"
        )
    if not prepared.exact:
        return _expanded_by_sqlalchemy(prepared.compiled, parameters)
    lengths = tuple(len(parameters.get(bind.key, bind.effective_value)) for bind in prepared.expanding)
    plan = prepared.by_lengths.get(lengths)
    if plan is None:
        expanded = prepared.compiled.construct_expanded_state(parameters)
        plan = _plan_of(
            prepared.compiled, expanded.statement, expanded.positiontup or (), expanded.parameter_expansion
        )
        prepared.by_lengths[lengths] = plan
    arguments = []
    for key, item, fixed, process in plan.slots:
        value = parameters[key] if key in parameters else fixed
        if item is not None:
            value = value[item]
        arguments.append(value if process is None else process(value))
    return plan.sql, tuple(arguments)


def _expanded_by_sqlalchemy(
    compiled: SQLCompiler, parameters: Mapping[str, Any]
) -> tuple[str, tuple[Any, ...]]:
    """SQLAlchemy's expansion, as its execution context does it (the statement's processors, and those of the
    items of its IN lists)."""
    expanded = compiled.construct_expanded_state(parameters)
    values, binders = expanded.parameters, {**cast(Any, compiled._bind_processors), **expanded.processors}
    arguments = tuple(
        binders[name](values[name]) if name in binders else values[name]
        for name in expanded.positiontup or ()
    )
    return expanded.statement, arguments


def _defaults(prepared: _Compiled, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The column defaults SQLAlchemy would write for the columns not given (a value, or a function's,
    which SQLAlchemy has wrapped to take an execution context; none of the models' functions reads it)."""
    return {
        key: default.arg(None) if default.is_callable else default.arg
        for key, default in prepared.defaults
        if key not in parameters
    }


def _rows(prepared: _Compiled, found: list[tuple[Any, ...]]) -> list[Any]:
    if prepared.row is None or not found:
        return []
    make, processors = prepared.row, prepared.result_processors
    if not any(processors):
        return [make(*values) for values in found]
    return [
        make(
            *(
                value if process is None else process(value)
                for process, value in zip(processors, values, strict=True)
            )
        )
        for values in found
    ]


async def _through_session(session: AsyncSession, statement: Executable, parameters: Any) -> Ran:
    """SQLAlchemy's own run: its rows are named tuples too (an ORM-annotated SELECT's result has no row count;
    an INSERT, UPDATE or DELETE without RETURNING has no rows)."""
    result = await session.execute(statement, parameters)
    if isinstance(result, CursorResult) and not result.returns_rows:
        return Ran([], result.rowcount)
    return Ran(list(result.all()), getattr(result, "rowcount", -1))
