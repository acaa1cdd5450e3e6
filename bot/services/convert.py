"""Rows to plain values."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import MeetingState, Order, OrderStatus, Service
from storage.models import OrderRow, PersonRow, ServiceRow


def service_of(row: ServiceRow) -> Service:
    return Service(
        id=row.id,
        code=row.code,
        owner_id=row.owner_id,
        name=row.name,
        duration_min=row.duration_min,
        timezone=row.timezone,
        zoom_enabled=row.zoom_enabled,
        step_min=row.step_min,
        buffer_min=row.buffer_min,
        notice_min=row.notice_min,
        horizon_days=row.horizon_days,
        changes_min=row.changes_min,
        reminder_minutes=tuple(int(minutes) for minutes in row.reminder_minutes or ()),
        own_hours=row.hours is not None,
    )


async def order_of(session: AsyncSession, row: OrderRow) -> Order:
    service = await session.get(ServiceRow, row.service_id)
    customer = await session.get(PersonRow, row.customer_id)
    return Order(
        id=row.id,
        service_id=row.service_id,
        service_name=service.name if service else "",
        owner_id=row.owner_id,
        customer_id=row.customer_id,
        customer_name=customer.first_name if customer else "",
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
