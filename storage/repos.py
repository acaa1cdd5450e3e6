"""Queries. Repositories never commit: the caller that opened the session owns the transaction."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    table,
    text,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, class_mapper, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, instance_state, set_committed_value
from sqlalchemy.sql.cache_key import CacheKey

from storage import prepared
from storage.direct import Transaction
from storage.models import (
    CalendarFeedRow,
    CustomerEditRow,
    DayOffRow,
    DraftRow,
    JobRow,
    OAuthStateRow,
    OrderMessageRow,
    OrderRow,
    PersonRow,
    ProcessedUpdateRow,
    ReceivedUpdateRow,
    ServiceRow,
    WebhookEventRow,
    ZoomConnectionRow,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert


def pg_insert(entity: Any) -> PgInsert:
    """PostgreSQL's INSERT (imported when first used: a bot on SQLite never loads that dialect, 1 MiB)."""
    from sqlalchemy.dialects.postgresql import insert

    return insert(entity)


T = TypeVar("T")
ACTIVE = ("new", "confirmed")
JOBS_CHANNEL = "bot_jobs"  # NOTIFY channel: a job was queued
NOTIFIED = "jobs_notified"  # session.info: the transaction that already sent NOTIFY
# PostgreSQL: a job's runner holds the advisory lock (RUN_LOCK_NAMESPACE, job id) while it runs.
RUN_LOCK_NAMESPACE = 0x6A6F62  # "job"
_PG_LOCKS = table(
    "pg_locks", column("locktype"), column("database"), column("classid"), column("objid"), column("objsubid")
)
_PG_DATABASE = table("pg_database", column("oid"), column("datname"))


def _runner_alive(job_id: Any) -> Any:
    """PostgreSQL: whether some process holds the run lock of this job (it is running there).

    pg_locks lists the locks of every database in the cluster; advisory locks are per database.
    """
    held = _PG_LOCKS.c
    this_database = (
        select(_PG_DATABASE.c.oid).where(_PG_DATABASE.c.datname == func.current_database()).scalar_subquery()
    )
    return (
        select(held.objsubid)
        .where(
            held.locktype == "advisory",
            held.database == this_database,
            held.classid == RUN_LOCK_NAMESPACE,
            held.objid == job_id,
            held.objsubid == 2,
        )
        .exists()
    )


def _compiled_once(statement: Any, name: str) -> Any:
    """A dialect's INSERT … ON CONFLICT has no cache key, so SQLAlchemy compiles it anew on every run (a
    good part of a write's CPU). `statement` is built once, kept, and never changed (what varies comes as
    parameters), so its name is a sound key: SQLAlchemy then compiles it once per dialect and column set."""
    key = CacheKey((__name__, name), [])
    statement._generate_cache_key = lambda: key  # what SQLAlchemy's own memoization stores on the instance
    return statement


def _for_update(session: Transaction) -> bool:
    return session.bind.dialect.name == "postgresql" if session.bind else False


# The conversation's hot statements, built once and run with their parameters: building a statement
# (coercing its tables, annotating an entity's columns) costs more CPU than SQLite running it, and these are
# plain columns of tables (no ORM entity), so they are cached compiled and their rows are not ORM-loaded.
_persons, _drafts, _days_off, _orders, _services, _processed, _received = (
    cast(Table, entity.__table__)
    for entity in (
        PersonRow,
        DraftRow,
        DayOffRow,
        OrderRow,
        ServiceRow,
        ProcessedUpdateRow,
        ReceivedUpdateRow,
    )
)
_PERSON_NAMES = select(
    _persons.c.first_name, _persons.c.username, _persons.c.language, _persons.c.language_code
).where(_persons.c.id == bindparam("user_id"))
_LOCK_OWNER = (
    update(_persons)
    .where(_persons.c.id == bindparam("owner_id"))
    .values(booking_seq=_persons.c.booking_seq + 1)
)
_DRAFT = select(_drafts.c.flow, _drafts.c.step, _drafts.c.nonce, _drafts.c.data).where(
    _drafts.c.user_id == bindparam("user_id")
)
_DRAFT_FIELDS = ("flow", "step", "nonce", "data", "updated_at")
_DROP_DRAFT = delete(_drafts).where(_drafts.c.user_id == bindparam("user_id"))
_DAYS_OFF = (
    select(_days_off.c.day)
    .where(
        _days_off.c.owner_id == bindparam("owner_id"),
        _days_off.c.day >= bindparam("first"),
        _days_off.c.day <= bindparam("last"),
    )
    .order_by(_days_off.c.day)
)
_BLOCKED = (
    select(_orders.c.start_at, _orders.c.end_at, _services.c.buffer_min)
    .join(_services, _services.c.id == _orders.c.service_id)
    .where(
        _orders.c.owner_id == bindparam("owner_id"),
        _orders.c.status.in_(ACTIVE),
        _orders.c.start_at < bindparam("end"),
        _orders.c.end_at > bindparam("reach"),
    )
)
_BLOCKED_BUT = _BLOCKED.where(_orders.c.id != bindparam("exclude_order"))
_ACTIVE_ORDERS = select(func.count(_orders.c.id)).where(
    _orders.c.customer_id == bindparam("customer_id"),
    _orders.c.owner_id == bindparam("owner_id"),
    _orders.c.status.in_(ACTIVE),
)
# The owner's days off from `days_from` to `days_to` as one string of ISO dates joined by commas (None
# without any), read with the service: every ordering step's rules need them.
_BOOKING_DAYS_OFF = (
    select(func.aggregate_strings(_days_off.c.day.cast(String), ","))
    .where(
        _days_off.c.owner_id == _services.c.owner_id,
        _days_off.c.day >= bindparam("days_from"),
        _days_off.c.day <= bindparam("days_to"),
    )
    .scalar_subquery()
)
_connections = cast(Table, ZoomConnectionRow.__table__)
# The service as its table's columns (an ORM entity's loading cost more than the rest of the statement).
_BOOKING = (
    select(
        *_services.c,
        _persons.c.hours.label("owners_hours"),
        _connections.c.status.label("connection_status"),
        _BOOKING_DAYS_OFF.label("owners_days_off"),
    )
    .join(_persons, _persons.c.id == _services.c.owner_id)
    .outerjoin(_connections, _connections.c.owner_id == _services.c.owner_id)
)
_BOOKING_BY_CODE = _BOOKING.where(_services.c.code == bindparam("code"))
_BOOKING_BY_ID = _BOOKING.where(_services.c.id == bindparam("service_id"))
_SERVICE_FIELDS = tuple(column.key for column in _services.c)
_PROCESSED = select(_processed.c.update_id).where(_processed.c.update_id == bindparam("update_id"))
_FORGET_RECEIVED = delete(_received).where(_received.c.update_id == bindparam("update_id"))
# SQLite's INSERT OR IGNORE and OR REPLACE through the generic INSERT, which SQLAlchemy caches compiled (its
# dialects' INSERT … ON CONFLICT is compiled anew for every run); PostgreSQL's ON CONFLICT is built once.
_MARK_SQLITE = insert(_processed).prefix_with("OR IGNORE")


@functools.cache
def _mark_postgresql() -> Any:
    return _compiled_once(pg_insert(_processed).on_conflict_do_nothing(index_elements=["update_id"]), "mark")


# A draft is written whole and nothing refers to it, so SQLite's INSERT OR REPLACE is its upsert (cached).
_PUT_DRAFT_SQLITE = insert(_drafts).prefix_with("OR REPLACE")


@functools.cache
def _put_draft_postgresql() -> Any:
    statement = pg_insert(_drafts)
    upsert = statement.on_conflict_do_update(
        index_elements=[_drafts.c.user_id], set_={name: statement.excluded[name] for name in _DRAFT_FIELDS}
    )
    return _compiled_once(upsert, "put_draft")


# persons -----------------------------------------------------------------------------------------


async def upsert_user(
    session: AsyncSession, user_id: int, first_name: str, username: str | None, now: datetime
) -> PersonRow:
    row = await session.get(PersonRow, user_id)
    if row is None:
        row = PersonRow(id=user_id, first_name=first_name, username=username, created_at=now)
        row.owner_menu_set = False
        row.booking_seq = 0
        session.add(row)
        await session.flush()
    elif (row.first_name, row.username) != (first_name, username):
        row.first_name, row.username = first_name, username
    return row


async def person_names(session: Transaction, user_id: int) -> Any | None:
    """The person's stored first name, username, language and language code (four columns: every update
    reads them, and an ORM entity costs several times more)."""
    return (await prepared.run(session, _PERSON_NAMES, {"user_id": user_id})).first()


_MANY_PERSON_NAMES = select(
    _persons.c.id, _persons.c.first_name, _persons.c.username, _persons.c.language, _persons.c.language_code
).where(_persons.c.id.in_(bindparam("user_ids", expanding=True)))


async def persons_names(session: Transaction, user_ids: Sequence[int]) -> dict[int, Any]:
    """`person_names` of several persons in one statement, by id (a person not stored is left out)."""
    if len(user_ids) == 1:
        found = await person_names(session, user_ids[0])
        return {user_ids[0]: found} if found is not None else {}
    rows = (await prepared.run(session, _MANY_PERSON_NAMES, {"user_ids": list(user_ids)})).rows
    return {row.id: row for row in rows}


async def save_person(
    session: Transaction, user_id: int, first_name: str, username: str | None, now: datetime, **changes: Any
) -> None:
    """Add the person, or bring their name, username and `changes` up to date: one statement, which writes
    nothing when all of them are as stored."""
    values = {"first_name": first_name, "username": username, **changes}
    statement = _save_person_statement(_for_update(session), tuple(values))
    await prepared.run(session, statement, {"id": user_id, "created_at": now, **values})


@functools.cache
def _save_person_statement(postgresql: bool, names: tuple[str, ...]) -> Any:
    """`save_person`'s upsert of these columns, built once per dialect and column set."""
    insert = (pg_insert if postgresql else sqlite_insert)(_persons)
    differs = or_(*(_persons.c[name].is_distinct_from(insert.excluded[name]) for name in names))
    upsert = insert.on_conflict_do_update(
        index_elements=[_persons.c.id], set_={name: insert.excluded[name] for name in names}, where=differs
    )
    return _compiled_once(upsert, f"save_person:{postgresql}:{','.join(names)}")


async def lock_owner(session: AsyncSession, owner_id: int) -> None:
    """Serialize bookings of one owner: the row update takes a write lock on SQLite and PostgreSQL alike."""
    await prepared.run(session, _LOCK_OWNER, {"owner_id": owner_id})


# services ----------------------------------------------------------------------------------------


async def services_of(session: AsyncSession, owner_id: int) -> list[ServiceRow]:
    result = await session.scalars(
        select(ServiceRow).where(ServiceRow.owner_id == owner_id).order_by(ServiceRow.id)
    )
    return list(result)


_SERVICE_BY_CODE = select(*_services.c).where(_services.c.code == bindparam("code"))


async def service_by_code(session: Transaction, code: str) -> ServiceRow | None:
    found = (await prepared.run(session, _SERVICE_BY_CODE, {"code": code})).first()
    return _as_loaded(session, ServiceRow, dict(zip(_SERVICE_FIELDS, found, strict=True))) if found else None


async def service_for_booking(
    session: Transaction,
    days_off: tuple[date, date],
    *,
    code: str | None = None,
    service_id: int | None = None,
) -> tuple[ServiceRow, Any, str | None, list[date]] | None:
    """The service (by code or id) with its owner's weekly hours (`persons.hours`), Zoom connection status
    (None without a connection) and days off within `days_off` (first and last day), in one statement:
    every ordering step needs the four."""
    window = {"days_from": days_off[0], "days_to": days_off[1]}
    if code is not None:
        found = (await prepared.run(session, _BOOKING_BY_CODE, {"code": code, **window})).first()
    else:
        found = (await prepared.run(session, _BOOKING_BY_ID, {"service_id": service_id, **window})).first()
    if found is None:
        return None
    service = _as_loaded(session, ServiceRow, dict(zip(_SERVICE_FIELDS, found, strict=False)))
    off = (
        [date.fromisoformat(day) for day in found.owners_days_off.split(",")] if found.owners_days_off else []
    )
    return service, found.owners_hours, found.connection_status, off


def _as_loaded(session: Transaction, entity: type[T], values: dict[str, Any]) -> T:
    """An entity read as columns, held by the session as if the ORM had loaded it, without SQL (later reads
    of it by key find it there; its changes are saved). One the session holds already wins, as in a query.
    In a direct transaction (no session) the entity is detached: for reading only."""
    if not isinstance(session, AsyncSession):
        return _loaded(entity, values)
    sync = session.sync_session
    held = sync.identity_map.get(sync.identity_key(entity, values["id"]))
    if held is not None:
        for key in list(instance_state(held).expired_attributes):  # expired by a rollback: loaded anew
            set_committed_value(held, key, values[key])
        return cast(T, held)
    row = _loaded(entity, values)
    sync.add(row)
    return row


def _loaded(entity: type[T], values: dict[str, Any]) -> T:
    """A detached entity holding `values` as loaded ones, built as the ORM's loading builds one: its state's
    dictionary filled without the constructor's instrumented sets (each records history and runs events:
    23 us for a service against 6)."""
    row: T = class_mapper(entity).class_manager.new_instance()
    instance_dict(row).update(values)
    make_transient_to_detached(row)
    return row


async def service_by_source_update(session: AsyncSession, update_id: int) -> ServiceRow | None:
    return (await session.scalars(select(ServiceRow).where(ServiceRow.source_update == update_id))).first()


async def order_by_card(session: AsyncSession, chat_id: int, message_id: int) -> OrderRow | None:
    """The order whose card is that message (the customer's summary turns into it)."""
    query = (
        select(OrderRow)
        .join(OrderMessageRow, OrderMessageRow.order_id == OrderRow.id)
        .where(OrderMessageRow.chat_id == chat_id, OrderMessageRow.message_id == message_id)
    )
    return (await session.scalars(query)).first()


# orders ------------------------------------------------------------------------------------------


async def busy_intervals(
    session: AsyncSession, owner_id: int, start: datetime, end: datetime, exclude_order: int | None = None
) -> list[tuple[datetime, datetime]]:
    query = select(OrderRow.start_at, OrderRow.end_at).where(
        OrderRow.owner_id == owner_id,
        OrderRow.status.in_(ACTIVE),
        OrderRow.start_at < end,
        OrderRow.end_at > start,
    )
    if exclude_order is not None:
        query = query.where(OrderRow.id != exclude_order)
    return [(row.start_at, row.end_at) for row in (await session.execute(query)).all()]


async def blocked_intervals(
    session: Transaction, owner_id: int, start: datetime, end: datetime, exclude_order: int | None = None
) -> list[tuple[datetime, datetime]]:
    """Active orders of the owner as [start, end + their service's buffer) that reach into [start, end)."""
    values = {"owner_id": owner_id, "end": end, "reach": start - timedelta(days=1)}
    if exclude_order is None:
        rows = (await prepared.run(session, _BLOCKED, values)).rows
    else:
        rows = (await prepared.run(session, _BLOCKED_BUT, {**values, "exclude_order": exclude_order})).rows
    blocked = [(row.start_at, row.end_at + timedelta(minutes=row.buffer_min)) for row in rows]
    return [(first, last) for first, last in blocked if last > start]


async def active_order_starts(
    session: AsyncSession, owner_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, str]]:
    """Start and time zone of the owner's active orders starting in [start, end)."""
    query = select(OrderRow.start_at, OrderRow.timezone).where(
        OrderRow.owner_id == owner_id,
        OrderRow.status.in_(ACTIVE),
        OrderRow.start_at >= start,
        OrderRow.start_at < end,
    )
    return [(row.start_at, row.timezone) for row in (await session.execute(query)).all()]


def _newest_first() -> tuple[Any, Any]:
    return OrderRow.start_at.desc(), OrderRow.id.desc()


async def orders_of_user(
    session: AsyncSession, user_id: int, limit: int, offset: int, service_id: int | None = None
) -> list[OrderRow]:
    """One page of the user's orders (as owner and as customer, or of one service), newest start first.

    Each side reads only its newest `offset + limit` orders through its own index, so a page costs the
    same with ten thousand orders as with ten.
    """
    if service_id is not None:
        query = (
            select(OrderRow)
            .where(OrderRow.owner_id == user_id, OrderRow.service_id == service_id)
            .order_by(*_newest_first())
            .limit(limit)
            .offset(offset)
        )
        return list(await session.scalars(query))
    depth = offset + limit
    sides = [
        select(OrderRow.id).where(column == user_id).order_by(*_newest_first()).limit(depth).subquery()
        for column in (OrderRow.owner_id, OrderRow.customer_id)
    ]
    candidates = union(select(sides[0].c.id), select(sides[1].c.id))
    query = (
        select(OrderRow)
        .where(OrderRow.id.in_(candidates))
        .order_by(*_newest_first())
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(query))


async def count_active_orders(session: AsyncSession, customer_id: int, owner_id: int) -> int:
    """A customer's active orders with one owner."""
    values = {"customer_id": customer_id, "owner_id": owner_id}
    return int((await prepared.run(session, _ACTIVE_ORDERS, values)).scalar() or 0)


async def count_orders_of_user(session: AsyncSession, user_id: int, service_id: int | None = None) -> int:
    if service_id is not None:
        where = and_(OrderRow.owner_id == user_id, OrderRow.service_id == service_id)
        return int(await session.scalar(select(func.count()).where(where)) or 0)
    # As owner, plus as customer of someone else: each through its own index.
    owned = select(func.count()).where(OrderRow.owner_id == user_id).scalar_subquery()
    ordered = (
        select(func.count())
        .where(OrderRow.customer_id == user_id, OrderRow.owner_id != user_id)
        .scalar_subquery()
    )
    return int(await session.scalar(select(owned + ordered)) or 0)


async def get_order(
    session: AsyncSession, order_id: int, *, lock: bool = False, fresh: bool = False
) -> OrderRow | None:
    """The order; `fresh` reloads it from the database even when the session holds it already. With `lock`,
    on PostgreSQL, the row is locked for the transaction (SQLite's writers take turns anyway)."""
    locking = lock and _for_update(session)
    if fresh:
        query = select(OrderRow).where(OrderRow.id == order_id).execution_options(populate_existing=True)
        return (await session.scalars(query.with_for_update() if locking else query)).first()
    if not locking:
        sync = session.sync_session
        held = sync.identity_map.get(sync.identity_key(OrderRow, order_id))
        if held is not None and not instance_state(held).expired_attributes:
            return cast(OrderRow, held)  # what a query would return (orders are never deleted)
    found = (
        await prepared.run(session, _ORDER_LOCKED if locking else _ORDER, {"order_id": order_id})
    ).first()
    return _as_loaded(session, OrderRow, dict(zip(_ORDER_FIELDS, found, strict=True))) if found else None


_ORDER = select(*_orders.c).where(_orders.c.id == bindparam("order_id"))
_ORDER_LOCKED = _ORDER.with_for_update()
_ORDER_FIELDS = tuple(column.key for column in _orders.c)


def _written_unset(column: Any) -> Any:
    """What the ORM writes for a column a new row leaves unset: its default, which must be a plain value
    (one computed in Python would have to be computed here too), else NULL."""
    if column.default is None:
        return None
    if not column.default.is_scalar:
        raise TypeError(f"{column}: give add_order a value, its default is computed")
    return column.default.arg


_ADD_ORDER = insert(_orders).returning(_orders.c.id)
_NEW_ORDER = {column.key: _written_unset(column) for column in _orders.c if not column.primary_key}


async def add_order(session: AsyncSession, row: OrderRow) -> None:
    """Write the new order `row` (not in the session yet) with one prepared INSERT, and have the session
    hold it as the ORM's flush would have: with its id and its unset columns' defaults, found by later reads
    by key, its later changes saved, forgotten by a rollback. Every column is written, so the statement is
    compiled once."""
    given = instance_state(row).dict
    values = {key: given.get(key, unset) for key, unset in _NEW_ORDER.items()}
    written = await prepared.run(session, _ADD_ORDER, values)
    for key, value in values.items():  # the row holds what was written: reading it needs no SQL
        if key not in given:
            setattr(row, key, value)
    row.id = written.rows[0].id
    sync = session.sync_session
    sync.add(row)
    # The flush's own last step after its INSERT (Session's, private): the row's values become its loaded
    # state, it joins the identity map under its key, and the transaction records it as new, so a rollback
    # expunges it as it would a flushed one.
    sync._register_persistent({instance_state(row)})


async def order_by_invite(session: AsyncSession, code: str) -> OrderRow | None:
    query = select(OrderRow).where(OrderRow.invite_code == code)
    if _for_update(session):
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def order_messages(session: AsyncSession, order_id: int) -> list[OrderMessageRow]:
    query = select(OrderMessageRow).where(OrderMessageRow.order_id == order_id).order_by(OrderMessageRow.id)
    return list(await session.scalars(query))


_CARDS = select(
    OrderMessageRow.chat_id, OrderMessageRow.message_id, OrderMessageRow.role, OrderMessageRow.shown
).where(OrderMessageRow.order_id == bindparam("order_id"))
_CARDS_IN_CHAT = _CARDS.where(OrderMessageRow.chat_id == bindparam("chat_id")).order_by(OrderMessageRow.id)
_CARDS = _CARDS.order_by(OrderMessageRow.id)


async def cards_in_chat(session: Transaction, order_id: int, chat_id: int | None) -> list[Any]:
    """The order's cards (in one chat, or all with None) as plain rows: chat_id, message_id, role, shown."""
    if chat_id is None:
        return (await prepared.run(session, _CARDS, {"order_id": order_id})).rows
    return (await prepared.run(session, _CARDS_IN_CHAT, {"order_id": order_id, "chat_id": chat_id})).rows


# The columns of an order that its plain value (bot.domain.Order) carries, named as that value's fields.
ORDER_VALUE_COLUMNS = (
    OrderRow.id,
    OrderRow.service_id,
    OrderRow.owner_id,
    OrderRow.customer_id,
    OrderRow.name,
    OrderRow.start_at,
    OrderRow.duration_min,
    OrderRow.timezone,
    OrderRow.status,
    OrderRow.version,
    OrderRow.wants_meeting,
    OrderRow.meeting_state,
    OrderRow.meeting_error,
    OrderRow.join_url,
    OrderRow.client_name,
    OrderRow.invite_code,
)


@functools.cache
def _card_query(reader: bool, kinds_given_up: tuple[str, ...] | None) -> Any:
    """`order_card_parts`' statement, built once per variant (building one costs more than running it)."""
    customer, reading = aliased(PersonRow), aliased(PersonRow)
    columns: list[Any] = [
        *ORDER_VALUE_COLUMNS,
        OrderRow.created_at,
        OrderRow.updated_at,
        OrderRow.synced_version,
        ServiceRow.name.label("service_name"),
        ServiceRow.zoom_enabled,
        customer.first_name.label("customer_name"),
    ]
    if reader:
        columns += [reading.language, reading.language_code]
    else:
        columns += [null().label("language"), null().label("language_code")]
    query = (
        select(*columns)
        .outerjoin(ServiceRow, ServiceRow.id == OrderRow.service_id)
        .outerjoin(customer, customer.id == OrderRow.customer_id)
        .where(OrderRow.id == bindparam("order_id"))
    )
    if reader:
        query = query.outerjoin(reading, reading.id == bindparam("reader_id"))
    if kinds_given_up is not None:
        given_up = (
            select(func.count(JobRow.id))
            .where(JobRow.order_id == OrderRow.id, JobRow.kind.in_(kinds_given_up), JobRow.status == "failed")
            .scalar_subquery()
        )
        query = query.add_columns(
            ZoomConnectionRow.status.label("connection_status"), given_up.label("given_up")
        ).outerjoin(ZoomConnectionRow, ZoomConnectionRow.owner_id == OrderRow.owner_id)
    return query


async def order_card_parts(
    session: Transaction, order_id: int, reader_id: int | None, kinds_given_up: tuple[str, ...] | None
) -> Any | None:
    """What an order's card shows, in one statement: the order's values (ORDER_VALUE_COLUMNS) with
    service_name and customer_name, created_at, updated_at and synced_version; the service's zoom_enabled;
    the reader's language and language_code (None without `reader_id`); and for an owner's card
    (`kinds_given_up`) the owner's connection_status and how many of the order's jobs of those kinds were
    given up (given_up)."""
    query = _card_query(reader_id is not None, kinds_given_up)
    values = {"order_id": order_id} if reader_id is None else {"order_id": order_id, "reader_id": reader_id}
    return (await prepared.run(session, query, values)).first()


# A connection's columns that a Zoom call on its owner's behalf reads (see `order_to_sync`).
HOST_COLUMNS = (
    ZoomConnectionRow.status.label("connection_status"),
    ZoomConnectionRow.access_token_enc,
    ZoomConnectionRow.refresh_token_enc,
    ZoomConnectionRow.access_expires_at,
    ZoomConnectionRow.writes_blocked_until,
    ZoomConnectionRow.meeting_defaults,
)

_ORDER_TO_SYNC = (
    select(
        OrderRow.id,
        OrderRow.owner_id,
        OrderRow.name,
        OrderRow.start_at,
        OrderRow.duration_min,
        OrderRow.timezone,
        OrderRow.status,
        OrderRow.version,
        OrderRow.synced_version,
        OrderRow.meeting_id,
        OrderRow.meeting_state,
        OrderRow.wants_meeting,
        PersonRow.language,
        PersonRow.language_code,
        *HOST_COLUMNS,
    )
    .outerjoin(PersonRow, PersonRow.id == OrderRow.owner_id)
    .outerjoin(ZoomConnectionRow, ZoomConnectionRow.owner_id == OrderRow.owner_id)
    .where(OrderRow.id == bindparam("order_id"))
)


async def order_to_sync(session: Transaction, order_id: int) -> Any | None:
    """What the meeting sync reads of an order, in one statement: the order's fields, its owner's language
    and language_code, and its owner's connection (HOST_COLUMNS; None when there is none)."""
    return (await prepared.run(session, _ORDER_TO_SYNC, {"order_id": order_id})).first()


async def add_order_message(
    session: Transaction,
    order_id: int,
    chat_id: int,
    message_id: int,
    role: str,
    shown: str | None = None,
) -> None:
    """Record an order card (once: the same card again is ignored); `shown`: the fingerprint of what it
    shows, when the caller knows it."""
    await prepared.run(
        session,
        _add_order_message_statement(_for_update(session)),
        {"order_id": order_id, "chat_id": chat_id, "message_id": message_id, "role": role, "shown": shown},
    )


@functools.cache
def _add_order_message_statement(postgresql: bool) -> Any:
    card = (pg_insert if postgresql else sqlite_insert)(cast(Table, OrderMessageRow.__table__))
    return _compiled_once(card.on_conflict_do_nothing(), f"add_order_message:{postgresql}")


@functools.cache
def _card_shown_query(seen_known: bool) -> Any:
    """`card_shown`'s statement, built once per variant (building one costs more than running it)."""
    m = OrderMessageRow
    new: Any = bindparam("new_shown")
    unchanged = m.shown == bindparam("seen_shown") if seen_known else m.shown.is_(None)
    return (
        update(m)
        .where(
            m.order_id == bindparam("card_order"),
            m.chat_id == bindparam("card_chat"),
            m.message_id == bindparam("card_message"),
        )
        .values(shown=case((or_(unchanged, m.shown == new), new), else_=None))
        .execution_options(synchronize_session=False)
    )


async def card_shown(
    session: Transaction, order_id: int, chat_id: int, message_id: int, seen: str | None, shown: str
) -> None:
    """Record that the card now shows `shown`, which its writer put there over `seen` (what the record said
    before that write). When someone else recorded something else meanwhile, the two writes may have crossed
    on their way to Telegram: the record then says "not known", so the next refresh edits for sure."""
    values: dict[str, Any] = {
        "card_order": order_id,
        "card_chat": chat_id,
        "card_message": message_id,
        "new_shown": shown,
    }
    if seen is not None:
        values["seen_shown"] = seen
    await prepared.run(session, _card_shown_query(seen is not None), values)


async def order_by_meeting(session: AsyncSession, meeting_id: int) -> OrderRow | None:
    return (await session.scalars(select(OrderRow).where(OrderRow.meeting_id == meeting_id))).first()


# calendar feeds ----------------------------------------------------------------------------------


async def calendar_feed_by_hash(session: AsyncSession, token_hash: str) -> Any | None:
    """The feed with that token, then its user's `language` and `language_code` (one query)."""
    query = (
        select(CalendarFeedRow, PersonRow.language, PersonRow.language_code)
        .outerjoin(PersonRow, PersonRow.id == CalendarFeedRow.user_id)
        .where(CalendarFeedRow.token_hash == token_hash)
    )
    return (await session.execute(query)).first()


async def has_calendar_feed(session: AsyncSession, user_id: int) -> bool:
    return await session.get(CalendarFeedRow, user_id) is not None


async def put_calendar_feed(session: AsyncSession, user_id: int, token_hash: str, now: datetime) -> None:
    """Give the user this feed token, replacing any earlier one."""
    row = await session.get(CalendarFeedRow, user_id)
    if row is None:
        session.add(CalendarFeedRow(user_id=user_id, token_hash=token_hash, created_at=now))
    else:
        row.token_hash, row.created_at = token_hash, now
    await session.flush()


async def calendar_orders(session: AsyncSession, user_id: int, ending_after: datetime) -> list[Any]:
    """Rows for a user's calendar (owner or customer, ending after the cutoff), services joined: one query."""
    query = (
        select(
            OrderRow.id,
            OrderRow.name,
            OrderRow.start_at,
            OrderRow.end_at,
            OrderRow.status,
            OrderRow.version,
            OrderRow.join_url,
            OrderRow.updated_at,
            ServiceRow.name.label("service_name"),
        )
        .join(ServiceRow, ServiceRow.id == OrderRow.service_id)
        .where(or_(OrderRow.owner_id == user_id, OrderRow.customer_id == user_id))
        .where(OrderRow.end_at >= ending_after)
        .order_by(OrderRow.start_at, OrderRow.id)
    )
    return list((await session.execute(query)).all())


# zoom connections and OAuth states ----------------------------------------------------------------


async def connection_of(
    session: AsyncSession, owner_id: int, *, lock: bool = False
) -> ZoomConnectionRow | None:
    query = select(ZoomConnectionRow).where(ZoomConnectionRow.owner_id == owner_id)
    if lock and _for_update(session):
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def connections_of_zoom_user(session: AsyncSession, zoom_user_id: str) -> list[ZoomConnectionRow]:
    query = select(ZoomConnectionRow).where(ZoomConnectionRow.zoom_user_id == zoom_user_id)
    return list(await session.scalars(query))


async def idle_connections(session: AsyncSession, refreshed_before: datetime) -> list[int]:
    query = select(ZoomConnectionRow.owner_id).where(
        ZoomConnectionRow.status == "active",
        or_(ZoomConnectionRow.refreshed_at.is_(None), ZoomConnectionRow.refreshed_at < refreshed_before),
    )
    return list(await session.scalars(query))


def _settings_due(read_before: datetime) -> Any:
    return and_(
        ZoomConnectionRow.status == "active",
        or_(ZoomConnectionRow.settings_read_at.is_(None), ZoomConnectionRow.settings_read_at < read_before),
    )


async def settings_due(session: AsyncSession, read_before: datetime) -> list[int]:
    """Owners whose hosts' Zoom settings were last read before `read_before`."""
    return list(await session.scalars(select(ZoomConnectionRow.owner_id).where(_settings_due(read_before))))


async def claim_settings_read(
    session: AsyncSession, owner_id: int, read_before: datetime, now: datetime
) -> bool:
    """Take the owner's settings read for now; False when another process already did."""
    result = await session.execute(
        update(ZoomConnectionRow)
        .where(ZoomConnectionRow.owner_id == owner_id, _settings_due(read_before))
        .values(settings_read_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def claim_oauth_state(session: AsyncSession, state_hash: str, now: datetime) -> bool:
    """Mark the state used; True only for the one caller that changed it from unused (single use)."""
    result = await session.execute(
        update(OAuthStateRow)
        .where(OAuthStateRow.state_hash == state_hash, OAuthStateRow.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike)."""
    if _for_update(session):
        return pg_insert
    return sqlite_insert


async def ensure_user(session: AsyncSession, user_id: int, now: datetime) -> None:
    """A user row for this id, added bare when the person never wrote /start (kept as is otherwise)."""
    statement = _insert(session)(PersonRow).values(
        id=user_id, first_name="", owner_menu_set=False, booking_seq=0, created_at=now
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["id"]))


async def ensure_connection(session: AsyncSession, owner_id: int, now: datetime) -> ZoomConnectionRow:
    """The owner's connection row, locked, created (disconnected) when there is none: concurrent logins
    of one owner meet on this one row instead of both inserting one."""
    statement = _insert(session)(ZoomConnectionRow).values(
        owner_id=owner_id,
        zoom_user_id="",
        zoom_account_id="",
        email="",
        status="disconnected",
        reconnect_notified=False,
        created_at=now,
        updated_at=now,
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["owner_id"]))
    query = select(ZoomConnectionRow).where(ZoomConnectionRow.owner_id == owner_id)
    if _for_update(session):
        query = query.with_for_update()
    return (await session.scalars(query.execution_options(populate_existing=True))).one()


async def take_oauth_state(session: AsyncSession, state_hash: str) -> OAuthStateRow | None:
    query = select(OAuthStateRow).where(OAuthStateRow.state_hash == state_hash)
    if _for_update(session):
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def purge_oauth_states(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(OAuthStateRow).where(OAuthStateRow.expires_at < before))


# days off ----------------------------------------------------------------------------------------


async def days_off(session: Transaction, owner_id: int, first: date, last: date) -> list[date]:
    values = {"owner_id": owner_id, "first": first, "last": last}
    return [row.day for row in (await prepared.run(session, _DAYS_OFF, values)).rows]


async def add_days_off(session: AsyncSession, owner_id: int, days: list[date]) -> None:
    known = set(await days_off(session, owner_id, min(days), max(days))) if days else set()
    session.add_all(DayOffRow(owner_id=owner_id, day=day) for day in days if day not in known)
    await session.flush()


async def remove_days_off(session: AsyncSession, owner_id: int, first: date, last: date) -> int:
    result = await session.execute(
        delete(DayOffRow).where(DayOffRow.owner_id == owner_id, DayOffRow.day >= first, DayOffRow.day <= last)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# drafts ------------------------------------------------------------------------------------------


async def draft_of(session: Transaction, user_id: int) -> Any | None:
    """The user's draft: its flow, step, nonce and data (columns, not an ORM entity)."""
    return (await prepared.run(session, _DRAFT, {"user_id": user_id})).first()


async def put_draft(
    session: Transaction, user_id: int, flow: str, step: str, nonce: str, data: dict[str, Any], now: datetime
) -> None:
    """Start or replace the user's draft: one statement, without reading it first (drafts are read as
    columns, never held by a session as entities, so no session holds a stale copy)."""
    values = {"flow": flow, "step": step, "nonce": nonce, "data": dict(data), "updated_at": now}
    statement = _put_draft_postgresql() if _for_update(session) else _PUT_DRAFT_SQLITE
    await prepared.run(session, statement, {"user_id": user_id, **values})


async def drop_draft(session: AsyncSession, user_id: int) -> bool:
    """Drop the user's draft; whether there was one."""
    return (await prepared.run(session, _DROP_DRAFT, {"user_id": user_id})).rowcount > 0


# jobs --------------------------------------------------------------------------------------------


async def enqueue(
    session: AsyncSession,
    kind: str,
    key: str,
    now: datetime,
    *,
    order_id: int | None = None,
    owner_id: int | None = None,
    payload: dict[str, Any] | None = None,
    delay: timedelta = timedelta(0),
    held_for: str | None = None,
) -> None:
    """Add a job, or wake the existing job with that key (keeping its progress), in one statement.
    `held_for`: why a delayed job waits (kept as its last error, as a retried job's): its chat's later jobs
    of chat-ordered kinds wait behind it, as they would behind one retried at that time."""
    row = _new_job(kind, key, now, order_id, owner_id, payload or {}, delay, held_for)
    await _upsert_jobs(session, [row], replace_payload=payload is not None)


async def enqueue_many(
    session: AsyncSession,
    kind: str,
    now: datetime,
    jobs: Sequence[tuple[str, timedelta, dict[str, Any]]],
    *,
    order_id: int | None = None,
) -> None:
    """`enqueue` for several jobs of one kind (key, delay and payload each), in one statement."""
    if jobs:
        rows = [_new_job(kind, key, now, order_id, None, payload, delay) for key, delay, payload in jobs]
        await _upsert_jobs(session, rows, replace_payload=True)


def _new_job(
    kind: str,
    key: str,
    now: datetime,
    order_id: int | None,
    owner_id: int | None,
    payload: dict[str, Any],
    delay: timedelta,
    held_for: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "order_id": order_id,
        "owner_id": owner_id,
        "payload": payload,
        "chat_id": _chat_of(payload),
        "progress": {},
        "status": "pending",
        "attempts": 0,
        "last_error": held_for,
        "run_at": now + delay,
        "created_at": now,
        "updated_at": now,
    }


def _chat_of(payload: dict[str, Any]) -> int | None:
    chat = payload.get("chat_id")
    return chat if isinstance(chat, int) and not isinstance(chat, bool) else None


# A card refresh held for the handler that renders the card itself (see `end_render_hold`), and the same once
# the order changed during the hold (the refresh then has something to show when the hold ends).
RENDER_HOLD = "waiting for the handler's render"
RENDER_HOLD_CHANGED = "waiting for the handler's render; changed meanwhile"


def _render_held() -> Any:
    """Whether a job is held for a handler's render (not an IN list: executemany refuses its parameter)."""
    return or_(_jobs.c.last_error == RENDER_HOLD, _jobs.c.last_error == RENDER_HOLD_CHANGED)


async def _upsert_jobs(session: AsyncSession, rows: list[dict[str, Any]], *, replace_payload: bool) -> None:
    """Insert the jobs; a key that exists is woken instead: due again, attempts reset, progress kept (one
    statement, run once per row in one call to the driver when there are several). A job held for a handler's
    render (RENDER_HOLD) stays held, marked as changed meanwhile: only `end_render_hold` (or the end of the
    hold) lets it run, so it never edits the card while the handler's own edit and record are under way."""
    statement = _upsert_jobs_statement(_for_update(session), replace_payload)
    await prepared.run(session, statement, rows)
    await notify_jobs(session)


@functools.cache
def _upsert_jobs_statement(postgresql: bool, replace_payload: bool) -> Any:
    insert = (pg_insert if postgresql else sqlite_insert)(cast(Table, JobRow.__table__))
    jobs = _jobs.c
    held = and_(jobs.status == "pending", _render_held(), jobs.run_at > insert.excluded.run_at)
    again: dict[str, Any] = {
        "status": "pending",
        "run_at": case((held, jobs.run_at), else_=insert.excluded.run_at),
        "updated_at": insert.excluded.updated_at,
        "attempts": 0,
        # A re-queued job is no longer "being retried": it waits its turn anew (or is held, see `enqueue`).
        "last_error": case((held, literal(RENDER_HOLD_CHANGED)), else_=insert.excluded.last_error),
    }
    if replace_payload:
        again["payload"] = insert.excluded.payload
        again["chat_id"] = insert.excluded.chat_id
    upsert = insert.on_conflict_do_update(index_elements=[JobRow.key], set_=again)
    return _compiled_once(upsert, f"upsert_jobs:{postgresql}:{replace_payload}")


async def retry_given_up(session: AsyncSession, order_id: int, kinds: tuple[str, ...], now: datetime) -> int:
    """Queue the order's given-up jobs of these kinds again, with fresh attempts; how many."""
    result = await session.execute(
        update(JobRow)
        .where(JobRow.order_id == order_id, JobRow.kind.in_(kinds), JobRow.status == "failed")
        .values(status="pending", run_at=now, attempts=0, locked_until=None, lease_token=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        await notify_jobs(session)
    return count


async def stop_jobs(session: AsyncSession, order_id: int, kind: str, now: datetime) -> None:
    """Retire an order's jobs of this kind that have not run (e.g. reminders of a start that changed)."""
    await session.execute(
        update(JobRow)
        .where(JobRow.order_id == order_id, JobRow.kind == kind, JobRow.status.in_(("pending", "waiting")))
        .values(status="done", last_error="superseded", updated_at=now)
    )


_jobs = cast(Table, JobRow.__table__)
# What a worker needs of a job it claims (bot.jobs.worker.Job), as plain columns: no ORM entity is loaded.
CLAIMED_COLUMNS = (
    _jobs.c.id,
    _jobs.c.kind,
    _jobs.c.key,
    _jobs.c.order_id,
    _jobs.c.owner_id,
    _jobs.c.payload,
    _jobs.c.progress,
    _jobs.c.attempts,
    _jobs.c.run_at,
    _jobs.c.lease_token,
)


def _at(name: str) -> Any:
    return bindparam(name, type_=_jobs.c.run_at.type)


def _free(now: Any) -> Any:
    return or_(_jobs.c.locked_until.is_(None), _jobs.c.locked_until < now)


async def claim_jobs(
    session: Transaction,
    kinds: tuple[str, ...],
    now: datetime,
    lease: timedelta,
    limit: int,
    chat_ordered: tuple[str, ...] = (),
    first: tuple[str, ...] = (),
) -> list[Any]:
    """Lease up to `limit` due jobs, each under a fresh token; others skip them until the lease ends
    (on PostgreSQL, also while the job's runner is still alive, holding its run lock). Due jobs of the
    `first` kinds go before the others, then the oldest first. The leased jobs come as plain rows of
    CLAIMED_COLUMNS, oldest first.

    Jobs of the `chat_ordered` kinds go to their chat (`chat_id`) one at a time, oldest first:
    one is not claimed while an older one of its chat is due, being retried, or running anywhere.
    """
    query = _claim_query(kinds, chat_ordered, first, _for_update(session))
    ids = [row.id for row in (await prepared.run(session, query, {"now": now, "limit": limit})).rows]
    if not ids:
        return []
    # One UPDATE leases them all under one fresh token (a token is checked with its job's id, so jobs of
    # one claim may share it); RETURNING hands back each leased row as it now is (a re-queue may have
    # changed it meanwhile).
    values = {"ids": ids, "now": now, "leased_until": now + lease, "token": secrets.token_hex(16)}
    leased = (await prepared.run(session, _LEASE, values)).rows
    return sorted(leased, key=lambda row: (row.run_at, row.id))


@functools.cache
def _claim_query(
    kinds: tuple[str, ...], chat_ordered: tuple[str, ...], first: tuple[str, ...], postgres: bool
) -> Any:
    """`claim_jobs`' choice of jobs, built once per lane and database (building it cost more than running
    it: the chat check's alias alone was a tenth of the bot's CPU in a burst); `now` and `limit` come as
    parameters."""
    jobs, now = _jobs.c, _at("now")
    query = select(jobs.id).where(
        jobs.status == "pending", jobs.kind.in_(kinds), jobs.run_at <= now, _free(now)
    )
    order: tuple[Any, ...] = (jobs.run_at, jobs.id)
    if first:
        order = (case((jobs.kind.in_(first), 0), else_=1), *order)
    query = query.order_by(*order).limit(bindparam("limit", type_=Integer))
    if chat_ordered:
        query = query.where(or_(jobs.kind.not_in(chat_ordered), ~_chat_busy(chat_ordered, now, postgres)))
    if postgres:
        # A runner that stalled past its lease still holds its job: it is not taken from it.
        query = query.where(~_runner_alive(jobs.id)).with_for_update(skip_locked=True, of=_jobs)
    return query


_LEASE = (
    update(_jobs)
    .where(_jobs.c.id.in_(bindparam("ids", expanding=True)), _free(_at("now")))
    .values(
        locked_until=_at("leased_until"),
        attempts=_jobs.c.attempts + 1,
        lease_token=bindparam("token", type_=_jobs.c.lease_token.type),
    )
    .returning(*CLAIMED_COLUMNS)
)


def _chat_busy(kinds: tuple[str, ...], now: Any, postgres: bool) -> Any:
    """Whether another job of the same chat must go first: it is running, or older and due or retrying
    (it failed before, or waits out a flood limit, which spends no attempt but leaves its last error)."""
    other, jobs = _jobs.alias("other"), _jobs.c
    running = other.c.locked_until > now
    if postgres:
        running = or_(running, _runner_alive(other.c.id))
    return (
        select(other.c.id)
        .where(
            other.c.status == "pending",
            other.c.kind.in_(kinds),
            other.c.id != jobs.id,
            other.c.chat_id == jobs.chat_id,
            or_(
                running,
                and_(
                    other.c.id < jobs.id,
                    or_(other.c.run_at <= now, other.c.attempts > 0, other.c.last_error.is_not(None)),
                ),
            ),
        )
        .exists()
    )


_JOB_IS_MINE = and_(
    _jobs.c.id == bindparam("job_id", type_=Integer),
    _jobs.c.lease_token == bindparam("token", type_=_jobs.c.lease_token.type),
)
_NEW_PROGRESS = bindparam("new_progress", type_=_jobs.c.progress.type)
_SAVE_PROGRESS = update(_jobs).where(_JOB_IS_MINE).values(progress=_NEW_PROGRESS, updated_at=_at("now"))
_EXTEND_LEASE = update(_jobs).where(_JOB_IS_MINE).values(locked_until=_at("leased_until"))
_UNLEASE = (
    update(_jobs)
    .where(_JOB_IS_MINE)
    .values(
        locked_until=None, lease_token=None, progress=bindparam("new_progress", type_=_jobs.c.progress.type)
    )
)
# The outcome's columns, each set from the parameter of the same name with this prefix.
_OUTCOME = "set_"


async def save_job_progress(
    session: Transaction, job_id: int, token: str, progress: dict[str, Any], now: datetime
) -> None:
    """Record a running job's finished steps, while it is still leased under `token`."""
    values = {"job_id": job_id, "token": token, "new_progress": progress, "now": now}
    await prepared.run(session, _SAVE_PROGRESS, values)


async def extend_lease(session: Transaction, job_id: int, token: str, until: datetime) -> bool:
    """Keep a running job leased under `token` until `until`; False when its lease was taken over."""
    values = {"job_id": job_id, "token": token, "leased_until": until}
    return (await prepared.run(session, _EXTEND_LEASE, values)).rowcount > 0


async def record_outcome(
    session: Transaction, job_id: int, token: str, attempts: int, values: dict[str, Any]
) -> bool:
    """Write a run's outcome (`values`: jobs' columns) and free its lease, unless the job was queued again
    while it ran (`attempts` is what the claim set; a re-queue reset it, and that must win): then only the
    lease is freed and the run's progress kept, and the job runs again. Whether the outcome was written."""
    params = {f"{_OUTCOME}{name}": value for name, value in values.items()}
    params.update(job_id=job_id, token=token, claimed_attempts=attempts)
    if (await prepared.run(session, _outcome_statement(tuple(sorted(values))), params)).rowcount:
        return True
    again = {"job_id": job_id, "token": token, "new_progress": values.get("progress", {})}
    await prepared.run(session, _UNLEASE, again)
    return False


@functools.cache
def _outcome_statement(names: tuple[str, ...]) -> Any:
    """`record_outcome`'s UPDATE for a set of columns, built once (there are a handful of sets)."""
    columns = _jobs.c
    return (
        update(_jobs)
        .where(
            _JOB_IS_MINE,
            columns.attempts == bindparam("claimed_attempts", type_=Integer),
            columns.status == "pending",
        )
        .values({name: bindparam(f"{_OUTCOME}{name}", type_=columns[name].type) for name in names})
    )


_RUN_NOW = (
    update(_jobs)
    .where(_jobs.c.key == bindparam("job_key", type_=_jobs.c.key.type), _jobs.c.status == "pending")
    .values(run_at=_at("now"), attempts=0)
)


def _end_render_hold_statement() -> Any:
    jobs, changed = _jobs.c, _jobs.c.last_error == RENDER_HOLD_CHANGED
    run, take = bindparam("run", type_=Boolean), bindparam("take", type_=Boolean)
    taken = and_(changed, take, ~run)  # the handler shows the change itself: the hold goes on
    return (
        update(_jobs)
        .where(
            jobs.key == bindparam("job_key", type_=jobs.key.type),
            jobs.status == "pending",
            _render_held(),
            jobs.run_at > _at("now"),
        )
        .values(
            status=case((or_(changed, run), "pending"), else_="done"),
            run_at=case((taken, jobs.run_at), else_=_at("now")),
            attempts=0,
            last_error=case((taken, literal(RENDER_HOLD)), else_=null()),
            updated_at=_at("now"),
        )
        .returning(jobs.status, jobs.last_error)
    )


_END_RENDER_HOLD = _end_render_hold_statement()


async def end_render_hold(
    session: AsyncSession, key: str, now: datetime, *, run: bool, take: bool = False
) -> str | None:
    """The handler that held the job with that key (RENDER_HOLD) has rendered its card: the job runs now
    ("pending") if the order changed meanwhile (or with `run`: the handler left the card to it), else it has
    nothing left to do ("done"). With `take`, a change is the handler's to show ("taken"): the job stays
    held, until the handler's next record or the hold's end. None when the job was not held (any more: the
    hold ran out, so it runs or ran as any job)."""
    values = {"job_key": key, "now": now, "run": run, "take": take}
    row = (await prepared.run(session, _END_RENDER_HOLD, values)).first()
    if row is None:
        return None
    if row.status == "pending" and row.last_error is None:
        await notify_jobs(session)
        return "pending"
    return "taken" if row.status == "pending" else "done"


async def run_now(session: AsyncSession, key: str, now: datetime) -> bool:
    """Make the pending job with that key due now, keeping its place and progress; one running now runs
    again (its outcome is not recorded, as for a re-queue), so it cannot miss this. Whether there was one."""
    if not (await prepared.run(session, _RUN_NOW, {"job_key": key, "now": now})).rowcount:
        return False
    await notify_jobs(session)
    return True


async def job_by_key(session: AsyncSession, key: str) -> JobRow | None:
    row: JobRow | None = await session.scalar(select(JobRow).where(JobRow.key == key))
    return row


async def wake_owner_jobs(session: AsyncSession, owner_id: int, now: datetime) -> int:
    result = await session.execute(
        update(JobRow)
        .where(JobRow.owner_id == owner_id, JobRow.status == "waiting")
        .values(status="pending", run_at=now, attempts=0, locked_until=None)
    )
    await notify_jobs(session)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def notify_jobs(session: AsyncSession) -> None:
    """On PostgreSQL, wake every replica's worker once this transaction commits (LISTEN/NOTIFY); one
    notification per transaction is enough, however many jobs it queues."""
    if not _for_update(session):
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(NOTIFIED) is transaction:
        return
    await session.execute(text(f"NOTIFY {JOBS_CHANNEL}"))
    session.info[NOTIFIED] = session.get_transaction()


# updates and webhook events ----------------------------------------------------------------------


async def mark_update(session: Transaction, update_id: int, now: datetime) -> bool:
    """Record an update as processed; False when it already was (one statement)."""
    statement = _mark_postgresql() if _for_update(session) else _MARK_SQLITE
    return (
        await prepared.run(session, statement, {"update_id": update_id, "processed_at": now})
    ).rowcount == 1


async def finish_received(session: Transaction, update_ids: Sequence[int], now: datetime) -> None:
    """Stored updates were handled: record them as processed and drop their stored copies, in the caller's
    transaction (so a stored update is never also processed: a restart handles exactly what is stored).
    Two statements for any number of updates (each run once with every update's parameters)."""
    if not update_ids:
        return
    marks = [{"update_id": update_id, "processed_at": now} for update_id in update_ids]
    drops = [{"update_id": update_id} for update_id in update_ids]
    mark = _mark_postgresql() if _for_update(session) else _MARK_SQLITE
    await prepared.run(session, mark, marks)
    await prepared.run(session, _FORGET_RECEIVED, drops)


async def received_updates(session: AsyncSession) -> list[ReceivedUpdateRow]:
    """Updates confirmed to Telegram but not yet processed, oldest first (a stored copy of a processed
    update, which a version that recorded the two apart could leave behind, is dropped)."""
    processed = select(ProcessedUpdateRow.update_id)
    await session.execute(delete(ReceivedUpdateRow).where(ReceivedUpdateRow.update_id.in_(processed)))
    return list(await session.scalars(select(ReceivedUpdateRow).order_by(ReceivedUpdateRow.update_id)))


async def known_updates(session: Transaction, update_ids: list[int]) -> set[int]:
    """Which of these updates are stored or processed already (one statement)."""
    if not update_ids:
        return set()
    found = await prepared.run(session, _KNOWN_UPDATES, {"stored": update_ids, "processed": update_ids})
    return {row.update_id for row in found.rows}


_KNOWN_UPDATES = union_all(
    select(_received.c.update_id).where(_received.c.update_id.in_(bindparam("stored", expanding=True))),
    select(_processed.c.update_id).where(_processed.c.update_id.in_(bindparam("processed", expanding=True))),
)


async def store_updates(
    session: Transaction, rows: list[tuple[int, int, dict[str, Any]]], now: datetime
) -> None:
    """Store fetched updates (update id, chat id, data) that `known_updates` did not know: one statement."""
    if not rows:
        return
    values = [
        {"update_id": update_id, "chat_id": chat_id, "data": data, "received_at": now}
        for update_id, chat_id, data in rows
    ]
    statement = _store_updates_statement(_for_update(session))
    await prepared.run(session, statement, values)


@functools.cache
def _store_updates_statement(postgresql: bool) -> Any:
    insert = (pg_insert if postgresql else sqlite_insert)(_received)
    return _compiled_once(insert.on_conflict_do_nothing(index_elements=["update_id"]), f"store:{postgresql}")


async def forget_received(session: Transaction, update_id: int) -> None:
    await prepared.run(session, _FORGET_RECEIVED, {"update_id": update_id})


async def forget_updates(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(ProcessedUpdateRow).where(ProcessedUpdateRow.processed_at < before))


async def remember_event(session: AsyncSession, key: str, event: str, now: datetime) -> bool:
    """Record a webhook event; False when it was seen before (Zoom delivers at least once)."""
    if await session.get(WebhookEventRow, key) is not None:
        return False
    session.add(WebhookEventRow(key=key, event=event, received_at=now))
    await session.flush()
    return True


async def release_leases(session: AsyncSession) -> None:
    """Free every lease: only for a single process (SQLite) starting up after a crash."""
    await session.execute(update(JobRow).where(JobRow.locked_until.is_not(None)).values(locked_until=None))


async def is_processed(session: Transaction, update_id: int) -> bool:
    return (await prepared.run(session, _PROCESSED, {"update_id": update_id})).first() is not None


async def job_counts(
    session: AsyncSession, now: datetime
) -> list[tuple[str, str, int, datetime | None, datetime | None]]:
    """(kind, state, count, earliest run_at, earliest updated_at) per kind and state, for the metrics.

    States: running (leased), queued (due), scheduled (due later), and the stored waiting, failed, done.
    """
    state = case(
        (and_(JobRow.status == "pending", JobRow.locked_until > now), "running"),
        (and_(JobRow.status == "pending", JobRow.run_at <= now), "queued"),
        (JobRow.status == "pending", "scheduled"),
        else_=JobRow.status,
    ).label("state")
    query = select(
        JobRow.kind, state, func.count(JobRow.id), func.min(JobRow.run_at), func.min(JobRow.updated_at)
    ).group_by(JobRow.kind, state)
    return [(row[0], row[1], int(row[2]), row[3], row[4]) for row in (await session.execute(query)).all()]


# retention ---------------------------------------------------------------------------------------

FINISHED = ("done", "failed")


async def old_finished_jobs(session: AsyncSession, before: datetime, limit: int) -> list[int]:
    """Done or failed jobs last changed before `before`, except those of active orders: a live order's
    sync job keeps its progress (whether a create was sent) for the next edit that revives it."""
    live = select(OrderRow.id).where(OrderRow.id == JobRow.order_id, OrderRow.status.in_(ACTIVE)).exists()
    query = (
        select(JobRow.id)
        .where(JobRow.status.in_(FINISHED), JobRow.updated_at < before, ~live)
        .order_by(JobRow.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def delete_finished_jobs(session: AsyncSession, ids: list[int], before: datetime) -> int:
    """Delete those jobs unless one was queued again meanwhile (a revived key is pending and newer)."""
    result = await session.execute(
        delete(JobRow).where(JobRow.id.in_(ids), JobRow.status.in_(FINISHED), JobRow.updated_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def forget_events(session: AsyncSession, before: datetime, limit: int) -> int:
    """Forget up to `limit` Zoom webhook events received before `before`."""
    keys = select(WebhookEventRow.key).where(WebhookEventRow.received_at < before).limit(limit)
    old = list(await session.scalars(keys))
    await session.execute(delete(WebhookEventRow).where(WebhookEventRow.key.in_(old)))
    return len(old)


async def forget_update_batch(session: AsyncSession, before: datetime, limit: int) -> int:
    """Forget up to `limit` processed Telegram updates recorded before `before`."""
    ids = select(ProcessedUpdateRow.update_id).where(ProcessedUpdateRow.processed_at < before).limit(limit)
    old = list(await session.scalars(ids))
    await session.execute(delete(ProcessedUpdateRow).where(ProcessedUpdateRow.update_id.in_(old)))
    return len(old)


async def forget_customer_edits(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(CustomerEditRow).where(CustomerEditRow.at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def keep_job_planned(session: AsyncSession, kind: str, key: str, now: datetime) -> None:
    """Make sure the recurring job `key` exists and is pending (replicas starting together add one)."""
    insert = pg_insert if _for_update(session) else sqlite_insert
    await session.execute(
        insert(JobRow)
        .values(
            kind=kind,
            key=key,
            payload={},
            progress={},
            status="pending",
            attempts=0,
            run_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    await session.execute(
        update(JobRow)
        .where(JobRow.key == key, JobRow.status != "pending")
        .values(status="pending", run_at=now, attempts=0, updated_at=now)
    )


# customer edits ----------------------------------------------------------------------------------


async def customer_edits_since(
    session: AsyncSession, owner_id: int, customer_id: int, since: datetime
) -> list[datetime]:
    """When the customer changed orders of this owner since `since`, oldest first."""
    query = (
        select(CustomerEditRow.at)
        .where(
            CustomerEditRow.owner_id == owner_id,
            CustomerEditRow.customer_id == customer_id,
            CustomerEditRow.at >= since,
        )
        .order_by(CustomerEditRow.at)
    )
    return list(await session.scalars(query))


async def record_customer_edit(
    session: AsyncSession, owner_id: int, customer_id: int, order_id: int, now: datetime
) -> None:
    session.add(CustomerEditRow(owner_id=owner_id, customer_id=customer_id, order_id=order_id, at=now))
