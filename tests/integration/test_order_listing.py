"""/orders pages on a real database (SQLite and PostgreSQL): every order of the user once, newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repos
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import OrderRow, PersonRow, ServiceRow

ANN, BEN, CAT = 1, 2, 3
ANNS_SERVICE, ANNS_OTHER_SERVICE, BENS_SERVICE = 1, 2, 3


@pytest.fixture
async def sessions(any_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(any_database_url)
    await migrate(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


def _order(number: int, service: int, owner: int, customer: int, start: datetime) -> dict[str, object]:
    return {
        "id": number,
        "service_id": service,
        "owner_id": owner,
        "customer_id": customer,
        "name": f"Order {number}",
        "start_at": start,
        "end_at": start + timedelta(minutes=30),
        "duration_min": 30,
        "timezone": "Europe/Berlin",
        "status": "confirmed",
        "version": 1,
        "wants_meeting": False,
        "meeting_state": "none",
        "synced_version": 0,
        "created_at": start,
        "updated_at": start,
    }


async def test_pages_hold_every_order_of_both_sides_once_newest_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    at = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    services = [(ANNS_SERVICE, ANN), (ANNS_OTHER_SERVICE, ANN), (BENS_SERVICE, BEN)]
    plan = [  # (service, owner, customer): Ann's own orders, her orders elsewhere, one with herself
        *[(ANNS_SERVICE, ANN, customer) for customer in (BEN, CAT, BEN, CAT)],
        *[(ANNS_OTHER_SERVICE, ANN, CAT) for _ in range(3)],
        *[(BENS_SERVICE, BEN, ANN) for _ in range(4)],
        (ANNS_SERVICE, ANN, ANN),
        *[(BENS_SERVICE, BEN, CAT) for _ in range(3)],  # not Ann's
    ]
    # Starts repeat (every third order shares one), so the order id decides between equal starts.
    rows = [
        _order(number, *planned, at + timedelta(hours=(number * 7) % 5))
        for number, planned in enumerate(plan, start=1)
    ]
    async with sessions.begin() as session:
        await session.execute(
            insert(PersonRow),
            [
                {"id": i, "first_name": f"P{i}", "owner_menu_set": False, "booking_seq": 0, "created_at": at}
                for i in (ANN, BEN, CAT)
            ],
        )
        await session.execute(
            insert(ServiceRow),
            [
                {
                    "id": sid,
                    "code": f"code{sid}",
                    "owner_id": owner,
                    "name": f"S{sid}",
                    "duration_min": 30,
                    "timezone": "Europe/Berlin",
                    "zoom_enabled": False,
                    "created_at": at,
                }
                for sid, owner in services
            ],
        )
        await session.execute(insert(OrderRow), rows)

    def newest_first(matching: list[dict[str, object]]) -> list[object]:
        ordered = sorted(matching, key=lambda r: (r["start_at"], r["id"]), reverse=True)  # type: ignore[arg-type,return-value]
        return [r["id"] for r in ordered]

    anns = newest_first([r for r in rows if ANN in (r["owner_id"], r["customer_id"])])
    anns_service = newest_first([r for r in rows if r["service_id"] == ANNS_SERVICE])
    async with sessions() as session:
        for service, expected in ((None, anns), (ANNS_SERVICE, anns_service)):
            assert await repos.count_orders_of_user(session, ANN, service) == len(expected)
            for size in (1, 3, 5):
                listed: list[object] = []
                for offset in range(0, len(expected) + size, size):
                    page = await repos.orders_of_user(session, ANN, size, offset, service)
                    assert len(page) <= size
                    listed += [row.id for row in page]
                assert listed == expected, f"pages of {size}"
        assert await repos.count_orders_of_user(session, CAT) == 8
        assert await repos.orders_of_user(session, 99, 5, 0) == []
        assert await repos.count_orders_of_user(session, 99) == 0
