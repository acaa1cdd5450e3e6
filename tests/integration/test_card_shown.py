"""What each order card shows (a fingerprint per card), recorded so that an unchanged card gets no edit, and
forgotten when two writers may have crossed (the next refresh then edits for sure)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import utcnow
from bot.jobs.outbox import CARDS, Outbox, refresh_key
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


# The refresh of a card that Confirm's handler renders itself waits for the handler's record ------------

HOLD = timedelta(hours=1)  # the refresh's hold (card_fallback): longer than any test, so it never runs out


async def refresh_job(sessions, order_id: int):
    async with sessions() as session:
        return await repos.job_by_key(session, refresh_key(order_id, CUSTOMER))


async def due_refreshes(sessions, at) -> list[str]:
    """The customer's card refreshes due at `at` (claimed: each is seen once)."""
    async with sessions.begin() as session:
        rows = await repos.claim_jobs(session, (CARDS,), at, timedelta(seconds=30), 10)
    return [row.key for row in rows if row.key == refresh_key(row.order_id, CUSTOMER)]


async def hold_for_the_handler(sessions, outbox: Outbox, order_id: int) -> None:
    async with sessions.begin() as session:  # as Confirm queues it
        await outbox.refresh_card(session, order_id, CUSTOMER, fallback=True)


async def test_a_change_during_the_handlers_render_is_shown_after_its_record(any_database_url: str) -> None:
    """The meeting arrives while the handler renders the card: its refresh does not run beside the handler
    (the two edits could cross, and the card would be edited once more, to what it shows already); it runs
    once the handler has recorded its render, and shows the change."""
    engine, sessions, order_id = await setup(any_database_url)
    outbox = Outbox(card_fallback=HOLD)
    try:
        await hold_for_the_handler(sessions, outbox, order_id)
        async with sessions.begin() as session:  # the meeting's arrival refreshes the order's cards
            await outbox.refresh_cards(session, order_id)
        assert await due_refreshes(sessions, utcnow()) == []  # still held
        async with sessions.begin() as session:  # the handler's record of its render
            await repos.card_shown(session, order_id, CUSTOMER, CARD, None, "handler's card")
            await outbox.card_rendered(session, order_id, CUSTOMER, run=False)
        assert await shown(sessions, order_id) == "handler's card"
        assert await due_refreshes(sessions, utcnow()) == [refresh_key(order_id, CUSTOMER)]
    finally:
        await engine.dispose()


async def test_a_render_of_an_unchanged_order_leaves_its_refresh_nothing_to_do(any_database_url: str) -> None:
    engine, sessions, order_id = await setup(any_database_url)
    outbox = Outbox(card_fallback=HOLD)
    try:
        await hold_for_the_handler(sessions, outbox, order_id)
        async with sessions.begin() as session:
            await repos.card_shown(session, order_id, CUSTOMER, CARD, None, "handler's card")
            await outbox.card_rendered(session, order_id, CUSTOMER, run=False)
        job = await refresh_job(sessions, order_id)
        assert job is not None and job.status == "done"
        assert await due_refreshes(sessions, utcnow() + 2 * HOLD) == []
        async with sessions.begin() as session:  # a later change refreshes the card as any
            await outbox.refresh_cards(session, order_id)
        assert await due_refreshes(sessions, utcnow()) == [refresh_key(order_id, CUSTOMER)]
    finally:
        await engine.dispose()


async def test_a_handler_that_leaves_the_card_to_its_refresh_gets_it_now(any_database_url: str) -> None:
    engine, sessions, order_id = await setup(any_database_url)
    outbox = Outbox(card_fallback=HOLD)
    try:
        await hold_for_the_handler(sessions, outbox, order_id)
        async with sessions.begin() as session:  # the chat had to wait for its limit: no render
            await outbox.card_rendered(session, order_id, CUSTOMER, run=True)
        assert await due_refreshes(sessions, utcnow()) == [refresh_key(order_id, CUSTOMER)]
    finally:
        await engine.dispose()


async def test_the_refresh_of_a_card_whose_handler_died_runs_after_its_hold(any_database_url: str) -> None:
    """kill -9 between Confirm's commit and the handler's record: the held refresh shows the card anyway,
    with what changed meanwhile; a handler that comes after the hold's end gets a refresh as any."""
    engine, sessions, order_id = await setup(any_database_url)
    outbox = Outbox(card_fallback=HOLD)
    try:
        await hold_for_the_handler(sessions, outbox, order_id)
        async with sessions.begin() as session:
            await outbox.refresh_cards(session, order_id)
        assert await due_refreshes(sessions, utcnow()) == []
        later = utcnow() + HOLD + timedelta(seconds=1)
        assert await due_refreshes(sessions, later) == [refresh_key(order_id, CUSTOMER)]
        async with sessions.begin() as session:  # a handler slower than the hold
            await outbox.card_rendered(session, order_id, CUSTOMER, run=False)
        job = await refresh_job(sessions, order_id)
        assert job is not None and job.status == "pending" and job.last_error is None
    finally:
        await engine.dispose()


async def test_a_change_the_handler_shows_itself_keeps_the_refresh_held_and_leaves_it_nothing(
    any_database_url: str,
) -> None:
    engine, sessions, order_id = await setup(any_database_url)
    outbox = Outbox(card_fallback=HOLD)
    try:
        await hold_for_the_handler(sessions, outbox, order_id)
        async with sessions.begin() as session:  # the meeting arrives during the handler's render
            await outbox.refresh_cards(session, order_id)
        async with sessions.begin() as session:
            await repos.card_shown(session, order_id, CUSTOMER, CARD, None, "handler's card")
            assert await outbox.card_rendered(session, order_id, CUSTOMER, run=False, take=True)
        assert await due_refreshes(sessions, utcnow()) == []  # held while the handler shows the change
        async with sessions.begin() as session:
            await repos.card_shown(session, order_id, CUSTOMER, CARD, "handler's card", "with the link")
            assert not await outbox.card_rendered(session, order_id, CUSTOMER, run=False, take=True)
        assert await shown(sessions, order_id) == "with the link"
        job = await refresh_job(sessions, order_id)
        assert job is not None and job.status == "done"
    finally:
        await engine.dispose()
