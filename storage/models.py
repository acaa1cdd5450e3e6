"""Tables. Times are stored in UTC; ids of Telegram users and Zoom meetings are 64-bit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAIVE = "naive datetime given to the database; use UTC-aware datetimes"
_SQLITE_DATETIME_FORMAT = sqlite.DATETIME._storage_format  # SQLAlchemy's, by names
_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # the same, by position


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(NAIVE)
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, this type's and SQLite's DATETIME's processors in one function, writing the text
        SQLite's would (its default format): every stored instant passes here, and the two chained cost
        twice as much."""
        stored = self.impl_instance.dialect_impl(dialect)
        if dialect.name != "sqlite" or getattr(stored, "_storage_format", None) != _SQLITE_DATETIME_FORMAT:
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(NAIVE)
            utc = value.astimezone(UTC)
            return _SQLITE_DATETIME % (
                utc.year,
                utc.month,
                utc.day,
                utc.hour,
                utc.minute,
                utc.second,
                utc.microsecond,
            )

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


DEFAULT_HOURS: list[list[list[int]]] = [[[540, 1080]]] * 5 + [[], []]  # Mon–Fri 09:00–18:00
DEFAULT_HOURS_SQL = "[[[540, 1080]], [[540, 1080]], [[540, 1080]], [[540, 1080]], [[540, 1080]], [], []]"
DEFAULT_REMINDER_MINUTES = (1440, 60)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class PersonRow(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(256), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    owner_menu_set: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language chosen with /language ("en", "ru"), else None: then Telegram's language_code decides.
    language: Mapped[str | None] = mapped_column(String(8))
    language_code: Mapped[str | None] = mapped_column(String(16))
    # Bumped by every booking of this owner: the row lock serializes bookings per owner on any database.
    booking_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Weekly working hours: seven lists (Monday first) of [start, end] minutes of the wall clock.
    hours: Mapped[list[Any]] = mapped_column(
        JSON, default=lambda: [list(day) for day in DEFAULT_HOURS], server_default=DEFAULT_HOURS_SQL
    )
    created_at: Mapped[datetime]


class ServiceRow(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    duration_min: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    zoom_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Minutes before the start at which both chats get a reminder, largest first.
    reminder_minutes: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_REMINDER_MINUTES), server_default="[1440, 60]"
    )
    # The Telegram update that created it: a replay after a crash finds this service instead of adding one.
    source_update: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    step_min: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    buffer_min: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notice_min: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    horizon_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    # How long before the start customers may still change or cancel (0: any time).
    changes_min: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The service's own weekly hours (as persons.hours), or None for the owner's.
    hours: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class DayOffRow(Base):
    __tablename__ = "days_off"

    owner_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ZoomConnectionRow(Base):
    __tablename__ = "zoom_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    zoom_user_id: Mapped[str] = mapped_column(String(64), index=True)
    zoom_account_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    # "active", "needs_reconnect" or "disconnected"; tokens are encrypted and emptied when not active.
    status: Mapped[str] = mapped_column(String(20))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    writes_blocked_until: Mapped[datetime | None]
    reconnect_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The host's own Zoom settings that new meetings follow, and when they were last read (at most daily).
    meeting_defaults: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    settings_read_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OAuthStateRow(Base):
    __tablename__ = "oauth_states"

    # sha256 of the state: a leaked database does not let anyone finish someone else's login.
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigInteger, index=True)
    service_id: Mapped[int | None] = mapped_column(Integer)
    code_verifier_enc: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_owner_start", "owner_id", "start_at"),
        # /orders reads either side's newest orders through its own index (repos.orders_of_user).
        Index("ix_orders_customer_start", "customer_id", "start_at"),
        # Busy intervals look at an owner's orders that end after a time: the future ones, not the history.
        Index("ix_orders_owner_end", "owner_id", "end_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    duration_min: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Whether this order should have a Zoom meeting (Zoom was On when placed, or the owner asked).
    wants_meeting: Mapped[bool] = mapped_column(Boolean, default=False)
    # "none", "pending", "ready", "waiting_reconnect", "failed", "deleted_in_zoom"
    meeting_state: Mapped[str] = mapped_column(String(24), default="none")
    meeting_error: Mapped[str | None] = mapped_column(Text)
    meeting_id: Mapped[int | None] = mapped_column(BigInteger)
    join_url: Mapped[str | None] = mapped_column(Text)
    synced_version: Mapped[int] = mapped_column(Integer, default=0)
    # What both chats were last told about the meeting, to say what changed.
    announced: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # An order the owner placed for a client: the client's name, and the random code of the invite link
    # (the order's customer is the owner until someone else opens it).
    client_name: Mapped[str | None] = mapped_column(String(256))
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OrderMessageRow(Base):
    __tablename__ = "order_messages"
    __table_args__ = (UniqueConstraint("order_id", "chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    # "customer" or "owner": which buttons the card shows in that chat.
    role: Mapped[str] = mapped_column(String(16))
    # A fingerprint of the text and buttons the bot last put on this message (None: not known), so a refresh
    # that would show the same again sends no edit.
    shown: Mapped[str | None] = mapped_column(String(32), nullable=True)


class JobRow(Base):
    __tablename__ = "jobs"
    # ix_jobs_chat: a claim looks up the pending jobs of a chat to keep each chat's messages in order.
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"), Index("ix_jobs_chat", "chat_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # One live job per key: re-queuing a key revives the same row instead of adding a second.
    key: Mapped[str] = mapped_column(String(128), unique=True)
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    owner_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # the payload's chat_id: the chat it writes to
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # "pending", "done", "failed", "waiting" (held until something else wakes it)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    # Set by each claim: only the worker holding this token extends the lease or records the outcome.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DraftRow(Base):
    __tablename__ = "drafts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class ProcessedUpdateRow(Base):
    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime]


class ReceivedUpdateRow(Base):
    """An update fetched from Telegram and confirmed to it, waiting to be processed in its chat's order."""

    __tablename__ = "received_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]


class WebhookEventRow(Base):
    __tablename__ = "webhook_events"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]


class CalendarFeedRow(Base):
    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # sha256 of the feed's token: the database alone does not give anyone the feed URL.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class CustomerEditRow(Base):
    """One change a customer made to an order of an owner: counted against the customer's edit limit."""

    __tablename__ = "customer_edits"
    __table_args__ = (Index("ix_customer_edits_owner_customer_at", "owner_id", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
