"""Order rows to plain values (a service row's is `service_of` beside the services)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import MeetingState, Order, OrderStatus
from storage.models import OrderRow, PersonRow, ServiceRow


async def order_of(session: AsyncSession, row: OrderRow, *, customer_name: str | None = None) -> Order:
    """The order as plain values; `customer_name` when the caller knows it (the customer is not read then)."""
    service = await session.get(ServiceRow, row.service_id)
    if customer_name is None:
        customer = await session.get(PersonRow, row.customer_id)
        customer_name = customer.first_name if customer else ""
    return _order(row, service.name if service else "", customer_name)


def order_value(row: Any) -> Order:
    """An order from a row of `storage.repos.ORDER_VALUE_COLUMNS` with service_name and customer_name (a Core
    select: no ORM entities to load for a few columns)."""
    return _order(row, row.service_name or "", row.customer_name or "")


def _order(row: Any, service_name: str, customer_name: str) -> Order:
    """The order's own values from an OrderRow or a row of ORDER_VALUE_COLUMNS, with the two names given."""
    return Order(
        id=row.id,
        service_id=row.service_id,
        service_name=service_name,
        owner_id=row.owner_id,
        customer_id=row.customer_id,
        customer_name=customer_name,
        name=row.name,
        start_at=row.start_at,
        duration_min=row.duration_min,
        timezone=row.timezone,
        status=OrderStatus(row.status),
        version=row.version,
        wants_meeting=row.wants_meeting,
        meeting_state=MeetingState(row.meeting_state),
        meeting_error=row.meeting_error,
        join_url=row.join_url,
        client_name=row.client_name,
        invite_code=row.invite_code,
    )
