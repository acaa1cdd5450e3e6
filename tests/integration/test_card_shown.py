"""What each order card shows (a fingerprint per card), recorded so that an unchanged card gets no edit, and
forgotten when two writers may have crossed (the next refresh then edits for sure)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import utcnow
from storage import repos
from storage.db import create_engine, create_sessionmaker, migrate
from tests.support.services import add_order, add_owner_service_and_customer

OWNER, CUSTOMER = 7_000_000_021, 7_000_000_022
CARD = 41  # the customer's card: its message id


async def setup(url: str):
    engine = create_engine(url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    now = utcnow()
    async with sessions.begin() as session:
        service = await add_owner_service_and_customer(session, OWNER, CUSTOMER, now)
        start = now + timedelta(days=2)
        row = await add_order(session, service, CUSTOMER, start, "order", "new")
        await repos.add_order_message(session, row.id, CUSTOMER, CARD, "customer")  # shows: not known
    return engine, sessions, row.id


async def shown(sessions, order_id: int) -> str | None:
    async with sessions() as session:
        return next(m.shown for m in await repos.order_messages(session, order_id) if m.message_id == CARD)


async def record(sessions, order_id: int, seen: str | None, now_shows: str) -> None:
    async with sessions.begin() as session:
        await repos.card_shown(session, order_id, CUSTOMER, CARD, seen, now_shows)


async def test_a_write_over_what_was_recorded_is_recorded(any_database_url: str) -> None:
    engine, sessions, order_id = await setup(any_database_url)
    try:
        await record(sessions, order_id, None, "A")
        assert await shown(sessions, order_id) == "A"
        await record(sessions, order_id, "A", "B")
        assert await shown(sessions, order_id) == "B"
        await record(sessions, order_id, "A", "B")  # a second writer that put the same content there
        assert await shown(sessions, order_id) == "B"
    finally:
        await engine.dispose()


async def test_writers_that_may_have_crossed_leave_it_unknown(any_database_url: str) -> None:
    """The handler and a refresh both edited the card over "nothing known": whichever Telegram applied last,
    the record must not claim the other's content, so it says "not known" and the next refresh edits."""
    engine, sessions, order_id = await setup(any_database_url)
    try:
        await record(sessions, order_id, None, "handler's card")
        await record(sessions, order_id, None, "refresh's card with the link")
        assert await shown(sessions, order_id) is None
        await record(sessions, order_id, None, "after the next edit")  # from "not known" it holds again
        assert await shown(sessions, order_id) == "after the next edit"
    finally:
        await engine.dispose()
