"""Plain values that cross layer boundaries (never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class OrderAction(StrEnum):
    """What an owner or a customer does to an order; an order card's buttons carry it."""

    RESCHEDULE = "rs"
    RENAME = "rn"
    DURATION = "du"
    CANCEL = "cx"
    REJECT = "rj"
    CONFIRM = "cf"
    DONE = "dn"
    CREATE_MEETING = "mk"
    RESTORE_MEETING = "fx"


def utcnow() -> datetime:
    return datetime.now(UTC)


class OrderStatus(StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    DONE = "done"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


ACTIVE_STATUSES = (OrderStatus.NEW, OrderStatus.CONFIRMED)


class MeetingState(StrEnum):
    NONE = "none"  # the order has no meeting and none is coming
    PENDING = "pending"  # the worker is creating or updating it
    READY = "ready"
    WAITING_RECONNECT = "waiting_reconnect"  # the owner must reconnect Zoom first
    WAITING_LIMIT = "waiting_limit"  # Zoom's daily limit for this host; resumes after 00:00 UTC
    FAILED = "failed"  # Zoom refused; the owner was told why
    DELETED_IN_ZOOM = "deleted_in_zoom"
    DRIFTED = "drifted"  # changed in Zoom by the host; no longer matches the order


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class Service:
    id: int
    code: str
    owner_id: int
    name: str
    duration_min: int
    timezone: str
    zoom_enabled: bool
    step_min: int = 30
    buffer_min: int = 0
    notice_min: int = 0
    horizon_days: int = 14
    changes_min: int = 0
    reminder_minutes: tuple[int, ...] = (1440, 60)
    own_hours: bool = False


@dataclass(frozen=True)
class Order:
    id: int
    service_id: int
    service_name: str
    owner_id: int
    customer_id: int
    customer_name: str
    name: str
    start_at: datetime
    duration_min: int
    timezone: str
    status: OrderStatus
    version: int
    wants_meeting: bool
    meeting_state: MeetingState
    meeting_error: str | None
    join_url: str | None
    client_name: str | None = None
    invite_code: str | None = None

    @property
    def awaits_client(self) -> bool:
        """Placed by the owner for a client who has not opened the invite yet."""
        return self.invite_code is not None and self.customer_id == self.owner_id

    @property
    def end_at(self) -> datetime:
        return self.start_at + timedelta(minutes=self.duration_min)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class ZoomConnection:
    owner_id: int
    email: str
    status: ConnectionStatus
