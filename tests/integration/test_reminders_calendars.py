"""Reminder planning and calendar feeds on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import ics
from bot.domain import utcnow
from bot.jobs.outbox import Outbox
from bot.jobs.worker import Done, Job, Outcome
from bot.services.availability import Availability
from bot.services.client_orders import ClientOrders
from bot.services.persons import Person, Persons
from bot.services.reminders import REMINDER
from storage.models import JobRow, OrderRow, ServiceRow
from tests.support.services import WiredServices, wired_services

OWNER = Person(1, "Olivia")
ALICE = Person(2, "Alice")
ZONE = "Europe/Berlin"


@pytest.fixture
async def world(any_database_url: str) -> AsyncIterator[WiredServices]:
    async with wired_services(any_database_url, zone=ZONE) as services:
        yield services


def local_slot(days: int, hour: int) -> str:
    day = (utcnow().astimezone(ZoneInfo(ZONE)) + timedelta(days=days)).date()
    return day.strftime("%Y%m%d") + f"{hour:02d}00"


def instant(local: str) -> datetime:
    return datetime.strptime(local, "%Y%m%d%H%M").replace(tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


async def place(world: WiredServices, local: str, offsets: list[int] | None = None) -> int:
    # The owner works around the clock every day, so any day and hour the tests choose is offered.
    await Availability(world.sessions, Persons(world.sessions, ZONE)).set_hours(
        OWNER, list(range(7)), ((0, 1440),)
    )
    service = await world.services.create(OWNER, "Consultation", 60)
    if offsets is not None:
        async with world.sessions.begin() as session:
            await session.execute(
                update(ServiceRow).where(ServiceRow.id == service.id).values(reminder_minutes=offsets)
            )
    await world.ordering.open(ALICE, service.code)
    await world.ordering.pick_time(ALICE, service.code, local)
    draft = await world.drafts.get(ALICE.id)
    assert draft is not None
    summary = await world.ordering.name(ALICE, draft, None)
    return (await world.ordering.confirm(ALICE, summary.nonce, 100)).id


async def reminder_jobs(world: WiredServices, status: str = "pending") -> list[JobRow]:
    async with world.sessions() as session:
        query = select(JobRow).where(JobRow.kind == REMINDER, JobRow.status == status).order_by(JobRow.run_at)
        return list(await session.scalars(query))


async def test_reminders_are_planned_per_offset_and_chat_and_a_passed_one_is_skipped(
    world: WiredServices,
) -> None:
    local = local_slot(3, 10)
    await place(world, local, offsets=[5 * 1440, 60, 15])  # five days before is already past
    jobs = await reminder_jobs(world)
    start = instant(local)
    assert sorted((job.payload["chat_id"], job.run_at) for job in jobs) == sorted(
        (chat, start - timedelta(minutes=minutes)) for chat in (OWNER.id, ALICE.id) for minutes in (60, 15)
    )


async def test_a_reschedule_retires_the_old_reminders_and_a_cancel_stops_the_new(
    world: WiredServices,
) -> None:
    order_id = await place(world, local_slot(3, 10))
    old = {job.key for job in await reminder_jobs(world)}
    assert len(old) == 4
    order, _ = await world.orders.order_for(ALICE.id, order_id)
    moved = instant(local_slot(4, 12))
    await world.orders.apply(ALICE.id, order_id, "rs", order.version, moved)
    pending = await reminder_jobs(world)
    assert {job.key for job in pending}.isdisjoint(old) and len(pending) == 4
    assert {job.run_at for job in pending} == {moved - timedelta(hours=24), moved - timedelta(hours=1)}
    assert {job.key for job in await reminder_jobs(world, "done")} == old
    await world.orders.apply(ALICE.id, order_id, "cx", order.version + 1, None)
    assert await reminder_jobs(world) == []


async def test_an_order_for_a_client_has_reminders_and_the_client_gets_them_once_the_invite_is_opened(
    world: WiredServices,
) -> None:
    clients = ClientOrders(world.sessions, world.drafts, Outbox())
    service = await world.services.create(OWNER, "Consultation", 60)
    later = utcnow() + timedelta(days=1, hours=1)  # so the 24 h reminder is still ahead
    starts = [
        start
        for day in await world.ordering.free_days(service, by_owner=True)
        for start in await world.ordering.free_times(service, day, by_owner=True)
        if start > later
    ]
    start = starts[0]
    await clients.pick_time(OWNER, service.id, start.astimezone(ZoneInfo(ZONE)).strftime("%Y%m%d%H%M"))
    draft = await world.drafts.get(OWNER.id)
    assert draft is not None
    summary = await clients.name(OWNER, draft, "Bob")
    order = await clients.confirm(OWNER, summary.nonce, 100)
    dues = [start - timedelta(minutes=minutes) for minutes in (1440, 60)]
    planned = sorted((job.payload["chat_id"], job.run_at) for job in await reminder_jobs(world))
    assert planned == [(OWNER.id, due) for due in dues]
    assert order.invite_code
    await clients.claim(ALICE, order.invite_code)
    planned = sorted((job.payload["chat_id"], job.run_at) for job in await reminder_jobs(world))
    assert planned == sorted((chat, due) for chat in (OWNER.id, ALICE.id) for due in dues)


async def run_first(world: WiredServices) -> Outcome:
    row = (await reminder_jobs(world))[0]
    job = Job(row.id, row.kind, row.key, row.order_id, row.owner_id, dict(row.payload), {}, 1, _noop)
    return await world.reminders.run(job)


async def _noop(job: Job) -> None:
    return None


async def test_a_reminder_is_sent_with_the_order_and_start_and_not_once_the_meeting_started(
    world: WiredServices,
) -> None:
    local = local_slot(3, 10)
    order_id = await place(world, local)
    assert isinstance(await run_first(world), Done)
    chat_id, text, keyboard = world.sent.messages[0]
    assert f"Order #{order_id} starts" in text and f"10:00 ({ZONE})" in text and keyboard is None
    # Missed while the bot was down, and the meeting has begun: not sent late.
    async with world.sessions.begin() as session:
        past = utcnow() - timedelta(minutes=1)
        values = {"start_at": past, "end_at": past + timedelta(hours=1)}
        await session.execute(update(OrderRow).where(OrderRow.id == order_id).values(**values))
        await session.execute(
            update(JobRow)
            .where(JobRow.kind == REMINDER)
            .values(payload={"chat_id": 1, "start": past.isoformat()})
        )
    assert isinstance(await run_first(world), Done)
    assert len(world.sent.messages) == 1


class Statements:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Statements]:
    statements = Statements()
    event.listen(engine.sync_engine, "before_cursor_execute", statements)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statements)


async def test_feed_tokens_bad_ones_cost_at_most_one_query_and_a_new_link_retires_the_old(
    world: WiredServices,
) -> None:
    order_id = await place(world, local_slot(3, 10))
    url = await world.calendars.link_if_none(ALICE.id)
    assert url is not None and await world.calendars.link_if_none(ALICE.id) is None
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) == 43
    feed = await world.calendars.feed(token)
    assert feed is not None
    events = Calendar.from_ical(feed.body).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"order-{order_id}@bot.example.com"]
    for bad, queries in (("../../etc/passwd", 0), ("x" * 5000, 0), ("A" * 43, 1), (token + "A", 0)):
        with counting(world.engine) as statements:
            assert await world.calendars.feed(bad) is None
        assert statements.count == queries, bad
    new_url = await world.calendars.new_link(ALICE.id)
    assert await world.calendars.feed(token) is None
    assert await world.calendars.feed(new_url.rsplit("/", 1)[1].removesuffix(".ics")) is not None


async def test_a_feed_of_ten_thousand_orders_is_one_query_and_each_event_serialized_once(
    world: WiredServices,
) -> None:
    await place(world, local_slot(3, 10))
    async with world.sessions.begin() as session:
        service_id = (await session.scalars(select(ServiceRow.id))).first()
        now = utcnow()
        rows = [
            {
                "service_id": service_id, "owner_id": OWNER.id, "customer_id": ALICE.id, "name": f"Order {i}",
                "start_at": now + timedelta(hours=i), "end_at": now + timedelta(hours=i, minutes=30),
                "duration_min": 30, "timezone": ZONE, "status": "confirmed", "version": 2,
                "wants_meeting": True, "meeting_state": "ready", "join_url": f"https://zoom.example/j/{i}",
                "synced_version": 2, "created_at": now, "updated_at": now,
            }
            for i in range(10_000)
        ]  # fmt: skip
        await session.execute(insert(OrderRow), rows)
    url = await world.calendars.link_if_none(OWNER.id)
    assert url is not None
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    timings, serialized = [], []
    ics.event_bytes.cache_clear()  # events other tests of this process serialized do not count
    for _ in range(2):  # the first serializes every event, the next only what changed (nothing)
        with counting(world.engine) as statements:
            feed = await world.calendars.feed(token)
        assert feed is not None
        assert statements.count == 2  # the token, then every order with its service in one query
        misses = ics.event_bytes.cache_info().misses
        began = time.perf_counter()
        body = feed.body  # serialized when it is sent
        timings.append(time.perf_counter() - began)
        serialized.append(ics.event_bytes.cache_info().misses - misses)
    assert serialized == [10_001, 0], serialized  # the second feed serialized nothing again
    assert len(Calendar.from_ical(body).walk("VEVENT")) == 10_001
    cold, warm = (f"{took * 1000:.0f} ms" for took in timings)
    print(f"\ncalendar feed of 10 001 orders ({len(body) / 1e6:.1f} MB): first {cold}, again {warm}")


async def test_a_reminder_and_a_calendar_file_are_in_the_readers_language(world: WiredServices) -> None:
    from bot import i18n
    from bot.telegram.views import reminder_view

    order_id = await place(world, local_slot(3, 10))
    order, _ = await world.orders.order_for(ALICE.id, order_id)
    with i18n.speaking("ru"):
        text, _ = reminder_view(order)
        russian = await world.calendars.order_file(ALICE.id, order_id)
    assert text.startswith(f"⏰ <b>Напоминание</b>: заказ №{order_id} начинается")
    (event,) = Calendar.from_ical(russian.content).walk("VEVENT")
    assert str(event["DESCRIPTION"]).startswith(f"Заказ №{order_id} (Consultation)")
    english = await world.calendars.order_file(ALICE.id, order_id)
    (event,) = Calendar.from_ical(english.content).walk("VEVENT")
    assert str(event["DESCRIPTION"]).startswith(f"Order #{order_id} (Consultation)")
