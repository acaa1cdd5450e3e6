"""The customer edit limit on a real database: its window, the owner's freedom, and concurrent edits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot import texts
from bot.domain import OrderAction, utcnow
from bot.errors import NotAllowed
from bot.jobs.outbox import Outbox
from bot.services.orders import EditLimit, Orders
from storage import repos
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import CustomerEditRow
from tests.support.services import add_order, add_owner_service_and_customer

OWNER, CUSTOMER = 7_000_000_011, 7_000_000_012
WINDOW = timedelta(hours=1)


async def setup(url: str, orders: int):
    engine = create_engine(url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    now = utcnow()
    async with sessions.begin() as session:
        service = await add_owner_service_and_customer(session, OWNER, CUSTOMER, now)
        ids = []
        for index in range(orders):
            start = now + timedelta(days=2, hours=index)
            row = await add_order(session, service, CUSTOMER, start, f"order {index}", "confirmed")
            ids.append(row.id)
    return engine, sessions, ids


async def name_and_version(sessions, order_id: int) -> tuple[str, int]:
    async with sessions() as session:
        row = await repos.get_order(session, order_id)
        assert row is not None
        return row.name, row.version


async def test_edits_count_within_the_window_and_the_owner_is_never_limited(any_database_url: str) -> None:
    engine, sessions, (order_id,) = await setup(any_database_url, 1)
    orders = Orders(sessions, Outbox(), edit_limit=EditLimit(count=2, window=WINDOW))
    async with sessions.begin() as session:  # one edit just out of the window, one inside it
        for age in (WINDOW + timedelta(minutes=1), WINDOW - timedelta(minutes=20)):
            session.add(
                CustomerEditRow(owner_id=OWNER, customer_id=CUSTOMER, order_id=order_id, at=utcnow() - age)
            )

    await orders.apply(CUSTOMER, order_id, OrderAction.RENAME, 1, "second in the window")
    with pytest.raises(NotAllowed) as refused:
        await orders.apply(CUSTOMER, order_id, OrderAction.DURATION, 2, 45)
    assert refused.value.text.key == texts.TOO_MANY_CHANGES
    assert refused.value.text.values["wait"].count == 20  # the older edit inside, 40 min old, leaves in 20
    with pytest.raises(NotAllowed):
        await orders.order_for(
            CUSTOMER, order_id, OrderAction.RESCHEDULE
        )  # refused before the customer picks a time
    assert await name_and_version(sessions, order_id) == ("second in the window", 2)
    await orders.order_for(CUSTOMER, order_id, OrderAction.CANCEL)  # cancelling is not an edit
    await orders.apply(OWNER, order_id, OrderAction.RENAME, 2, "by the owner")
    assert await name_and_version(sessions, order_id) == ("by the owner", 3)
    await engine.dispose()


async def test_concurrent_edits_at_the_limit_let_one_through(any_database_url: str) -> None:
    engine, sessions, order_ids = await setup(any_database_url, 4)
    orders = Orders(sessions, Outbox(), edit_limit=EditLimit(count=1, window=WINDOW))
    results = await asyncio.gather(
        *(orders.apply(CUSTOMER, order_id, OrderAction.RENAME, 1, "renamed") for order_id in order_ids),
        return_exceptions=True,
    )
    assert sum(not isinstance(result, BaseException) for result in results) == 1, results
    assert all(isinstance(result, NotAllowed) for result in results if isinstance(result, BaseException))
    names = [(await name_and_version(sessions, order_id))[0] for order_id in order_ids]
    assert names.count("renamed") == 1
    await engine.dispose()
