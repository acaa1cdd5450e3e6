"""Ordering on a real database (SQLite and PostgreSQL): slots, drafts, confirmation races."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crypto import TokenCipher
from bot.domain import OrderStatus, Service, utcnow
from bot.errors import NotAllowed, StaleAction, UserError
from bot.services.persons import Person
from bot.slots import parse_day
from storage import repos
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import JobRow, OrderRow
from tests.support.services import WiredServices, add_owner_service_and_customer, wired_services

OWNER = Person(1, "Olivia")
ALICE = Person(2, "Alice")
BOB = Person(3, "Bob")


@pytest.fixture
async def wired(any_database_url: str) -> AsyncIterator[WiredServices]:
    async with wired_services(any_database_url, zone="Europe/Berlin") as wired:
        yield wired


async def _to_summary(wired: WiredServices, customer: Person, code: str, local: str) -> str:
    await wired.ordering.open(customer, code)
    await wired.ordering.pick_time(customer, code, local)
    draft = await wired.drafts.get(customer.id)
    assert draft is not None
    summary = await wired.ordering.name(customer, draft, None)
    return summary.nonce


async def _next_day_ten(wired: WiredServices, service: Service) -> str:
    """10:00 on the first day after today that the bot offers (in the service's time zone)."""
    today = utcnow().astimezone(ZoneInfo(service.timezone)).date()
    day = next(day for day in await wired.ordering.free_days(service) if day > today)
    return day.strftime("%Y%m%d") + "1000"


async def test_two_customers_confirming_the_same_slot_at_once_get_one_order(wired: WiredServices) -> None:
    service = await wired.services.create(OWNER, "Consultation", 60)
    slot = await _next_day_ten(wired, service)
    nonce_a = await _to_summary(wired, ALICE, service.code, slot)
    nonce_b = await _to_summary(wired, BOB, service.code, slot)
    results = await asyncio.gather(
        wired.ordering.confirm(ALICE, nonce_a, 100),
        wired.ordering.confirm(BOB, nonce_b, 200),
        return_exceptions=True,
    )
    placed = [result for result in results if not isinstance(result, BaseException)]
    refused = [result for result in results if isinstance(result, UserError)]
    assert len(placed) == 1 and len(refused) == 1, results
    assert "just taken" in str(refused[0])
    async with wired.sessions() as session:
        assert await session.scalar(select(func.count(OrderRow.id))) == 1


async def test_taken_slots_are_not_offered_and_overlaps_are_refused(wired: WiredServices) -> None:
    service = await wired.services.create(OWNER, "Consultation", 60)
    other = await wired.services.create(OWNER, "Long session", 120)
    slot = await _next_day_ten(wired, service)
    await wired.ordering.confirm(ALICE, await _to_summary(wired, ALICE, service.code, slot), 100)
    starts = await wired.ordering.free_times(other, parse_day(slot[:8]))
    labels = {start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for start in starts}
    assert "10:00" not in labels and "09:00" not in labels and "09:30" not in labels and "11:00" in labels
    with pytest.raises(UserError, match="just taken"):
        await wired.ordering.pick_time(BOB, other.code, slot[:8] + "0930")


async def test_confirming_twice_or_with_an_old_summary_places_nothing_more(wired: WiredServices) -> None:
    service = await wired.services.create(OWNER, "Consultation", 30)
    nonce = await _to_summary(wired, ALICE, service.code, await _next_day_ten(wired, service))
    order = await wired.ordering.confirm(ALICE, nonce, 100)
    assert order.status == OrderStatus.NEW and order.name == "Consultation — Alice"
    again = await wired.ordering.confirm(ALICE, nonce, 100)  # the same press replayed after a crash
    assert again.id == order.id
    with pytest.raises(StaleAction):
        await wired.ordering.confirm(ALICE, nonce, 101)  # an old summary elsewhere places nothing
    async with wired.sessions() as session:
        assert await session.scalar(select(func.count(OrderRow.id))) == 1
        # Zoom is Off: no meeting job; the owner's card is queued.
        kinds = list(await session.scalars(select(JobRow.kind)))
        assert "meeting_sync" not in kinds and kinds.count("send") == 1


async def test_only_the_parties_change_an_order_and_only_within_their_role(wired: WiredServices) -> None:
    service = await wired.services.create(OWNER, "Consultation", 30)
    order = await wired.ordering.confirm(
        ALICE, await _to_summary(wired, ALICE, service.code, await _next_day_ten(wired, service)), 1
    )
    with pytest.raises(NotAllowed):
        await wired.orders.apply(BOB.id, order.id, "cx", order.version, None)
    with pytest.raises(NotAllowed):
        await wired.orders.apply(ALICE.id, order.id, "rj", order.version, None)
    with pytest.raises(NotAllowed):
        await wired.orders.apply(OWNER.id, order.id, "cx", order.version, None)
    with pytest.raises(StaleAction):
        await wired.orders.apply(ALICE.id, order.id, "cx", order.version + 5, None)
    applied = await wired.orders.apply(ALICE.id, order.id, "cx", order.version, None)
    assert applied.order.status == OrderStatus.CANCELLED
    with pytest.raises(UserError, match="cancelled"):
        await wired.orders.apply(OWNER.id, order.id, "rn", applied.order.version, "New name")
    # The slot is free again.
    nonce = await _to_summary(wired, BOB, service.code, await _next_day_ten(wired, service))
    assert (await wired.ordering.confirm(BOB, nonce, 2)).customer_id == BOB.id


async def test_names_and_durations_are_validated(wired: WiredServices) -> None:
    with pytest.raises(UserError, match="limit is 100"):
        await wired.services.create(OWNER, "x" * 101, 60)
    with pytest.raises(UserError, match="cannot be empty"):
        await wired.services.create(OWNER, "   \n ", 60)
    for bad in ["4", "721", "sixty", "-5", "99999999999999"]:
        with pytest.raises(UserError, match="5 to 720"):
            await wired.services.create(OWNER, "Ok", bad)
    created = await wired.services.create(OWNER, "  Tutoring   <b>maths</b> ", "45")
    assert (
        created.name == "Tutoring <b>maths</b>"
        and created.duration_min == 45
        and created.timezone == "Europe/Berlin"
    )
    assert len(created.code) >= 12 and await wired.services.by_code(created.code) == created
    assert await wired.services.by_code("nope") is None


async def connection_with_tokens(
    database_url: str, key: str
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """A migrated database with one owner's Zoom connection, its tokens "access-1" and "refresh-1" under
    `key`."""
    from storage.models import PersonRow, ZoomConnectionRow

    engine = create_engine(database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    now = utcnow()
    async with sessions.begin() as session:
        session.add(PersonRow(id=1, first_name="O", created_at=now, owner_menu_set=False, booking_seq=0))
        await session.flush()
        session.add(
            ZoomConnectionRow(
                owner_id=1,
                zoom_user_id="u",
                zoom_account_id="a",
                email="e@x",
                status="active",
                access_token_enc=TokenCipher([key]).encrypt("access-1"),
                refresh_token_enc=TokenCipher([key]).encrypt("refresh-1"),
                reconnect_notified=False,
                created_at=now,
                updated_at=now,
            )
        )
    return engine, sessions


async def test_rotating_keys_re_encrypts_stored_tokens_so_the_old_key_can_go(any_database_url: str) -> None:
    from bot.key_rotation import rotate_keys
    from storage.models import ZoomConnectionRow

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    engine, sessions = await connection_with_tokens(any_database_url, old)
    assert await rotate_keys(any_database_url, TokenCipher([new, old])) == 2
    async with sessions() as session:
        row = (await session.scalars(select(ZoomConnectionRow))).one()
        assert TokenCipher([new]).decrypt(row.refresh_token_enc or "") == "refresh-1"
        assert "refresh-1" not in (row.refresh_token_enc or "")
    await engine.dispose()


class RefreshedMeanwhile(TokenCipher):
    """rotate-keys' cipher, during whose first re-encryption the running bot refreshes the connection's tokens
    (a write of its own, committed in another thread, under the new key): between rotate-keys' read and its
    write."""

    def __init__(self, keys: list[str], database_url: str, tokens: tuple[str, str]) -> None:
        super().__init__(keys)
        self._database_url, self._tokens, self.refreshes = database_url, tokens, 0

    def rotate(self, ciphertext: str) -> str:
        if not self.refreshes:
            self.refreshes += 1
            refresher = threading.Thread(target=asyncio.run, args=(self._refresh(),))
            refresher.start()
            refresher.join()
        return super().rotate(ciphertext)

    async def _refresh(self) -> None:
        from storage.models import ZoomConnectionRow

        engine = create_engine(self._database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                row = (await session.scalars(select(ZoomConnectionRow))).one()
                row.access_token_enc, row.refresh_token_enc = (self.encrypt(token) for token in self._tokens)
        finally:
            await engine.dispose()


async def test_rotating_keys_keeps_tokens_the_bot_refreshed_meanwhile(any_database_url: str) -> None:
    """rotate-keys writes a connection's re-encrypted tokens only if they are still the ones it read: tokens
    the bot refreshed meanwhile (Zoom's refresh token is single-use: the old one no longer works) are kept
    and the connection is read again, never overwritten with the old ones."""
    from bot.key_rotation import rotate_keys
    from storage.models import ZoomConnectionRow

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    engine, sessions = await connection_with_tokens(any_database_url, old)
    cipher = RefreshedMeanwhile([new, old], any_database_url, ("access-2", "refresh-2"))
    assert await rotate_keys(any_database_url, cipher) == 2
    assert cipher.refreshes == 1
    async with sessions() as session:
        row = (await session.scalars(select(ZoomConnectionRow))).one()
        only_new = TokenCipher([new])
        assert only_new.decrypt(row.access_token_enc or "") == "access-2"
        assert only_new.decrypt(row.refresh_token_enc or "") == "refresh-2"
    await engine.dispose()


async def test_the_service_is_read_with_its_owners_days_off_in_the_window_asked(
    any_database_url: str,
) -> None:
    """Every ordering step reads the service, its owner's hours and Zoom status, and the owner's days off in
    one statement; the days off come as dates, only those in the window."""
    engine = create_engine(any_database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    now = utcnow()
    today = now.date()
    async with sessions.begin() as session:
        service = await add_owner_service_and_customer(session, OWNER.id, ALICE.id, now)
        await repos.add_days_off(session, OWNER.id, [today + timedelta(days=n) for n in (-5, 0, 3, 40)])
    async with sessions() as session:
        found = await repos.service_for_booking(
            session, (today - timedelta(days=1), today + timedelta(days=10)), code="svc"
        )
        by_id = await repos.service_for_booking(
            session, (today, today + timedelta(days=60)), service_id=service.id
        )
        missing = await repos.service_for_booking(session, (today, today), code="none")
    assert found is not None and by_id is not None and missing is None
    row, _hours, status, days_off = found
    assert (row.code, status) == ("svc", None)
    assert sorted(days_off) == [today, today + timedelta(days=3)]
    assert sorted(by_id[3]) == [today, today + timedelta(days=3), today + timedelta(days=40)]
    async with sessions() as session:
        nothing = await repos.service_for_booking(
            session, (today + timedelta(days=4), today + timedelta(days=9)), code="svc"
        )
    assert nothing is not None and nothing[3] == []
    await engine.dispose()
