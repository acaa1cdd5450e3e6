"""Purge of old rows on a real database: old finished rows go; new, pending and live-order rows stay;
dedupe of Telegram updates and Zoom events still works after a purge."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.domain import utcnow
from bot.jobs.outbox import Outbox
from bot.jobs.worker import Lane, Worker
from bot.services.retention import PURGE, PURGE_KEY, Keep, Retention
from storage import repos
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import (
    CustomerEditRow,
    JobRow,
    ProcessedUpdateRow,
    WebhookEventRow,
)
from tests.support.services import add_order, add_owner_service_and_customer

KEEP = Keep(
    finished=timedelta(days=30),
    updates=timedelta(hours=48),
    edits=timedelta(hours=1),
    interval=timedelta(hours=1),
)
OWNER, CUSTOMER = 7_000_000_001, 7_000_000_002


async def add_orders(sessions, now: datetime) -> dict[str, int]:
    """An active and a cancelled order, both of a meeting long past."""
    async with sessions.begin() as session:
        service = await add_owner_service_and_customer(session, OWNER, CUSTOMER, now)
        ids = {}
        for status in ("confirmed", "cancelled"):
            start = now - timedelta(days=60)
            row = await add_order(session, service, CUSTOMER, start, status, status, created=start)
            ids[status] = row.id
        return ids


async def add_job(sessions, key: str, status: str, changed: datetime, order_id: int | None = None) -> None:
    async with sessions.begin() as session:
        session.add(
            JobRow(
                kind="send",
                key=key,
                order_id=order_id,
                payload={},
                progress={"create_sent": True},
                status=status,
                attempts=1,
                run_at=changed,
                created_at=changed,
                updated_at=changed,
            )
        )


async def job_keys(sessions) -> set[str]:
    async with sessions() as session:
        return set(await session.scalars(select(JobRow.key)))


async def test_old_finished_rows_go_new_pending_and_live_ones_stay(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    now = utcnow()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    orders = await add_orders(sessions, now)
    await add_job(sessions, "old-done", "done", old)
    await add_job(sessions, "old-failed", "failed", old)
    await add_job(sessions, "old-done-of-cancelled-order", "done", old, orders["cancelled"])
    await add_job(sessions, "recent-done", "done", recent)
    await add_job(sessions, "old-pending", "pending", old)  # e.g. a reminder planned long ago
    await add_job(sessions, "old-waiting", "waiting", old)  # waits for the owner to reconnect Zoom
    await add_job(sessions, "old-failed-sync-of-live-order", "failed", old, orders["confirmed"])
    async with sessions.begin() as session:
        await repos.keep_job_planned(session, PURGE, PURGE_KEY, now)
        session.add(WebhookEventRow(key="old-event", event="meeting.updated", received_at=old))
        session.add(
            WebhookEventRow(
                key="retried-event", event="meeting.updated", received_at=now - timedelta(hours=2)
            )
        )
        session.add(ProcessedUpdateRow(update_id=1, processed_at=now - timedelta(hours=49)))
        session.add(ProcessedUpdateRow(update_id=2, processed_at=now - timedelta(hours=30)))
        for at in (now - timedelta(minutes=61), now - timedelta(minutes=59)):
            session.add(
                CustomerEditRow(owner_id=OWNER, customer_id=CUSTOMER, order_id=orders["confirmed"], at=at)
            )

    purged = await Retention(sessions, KEEP).purge(now)

    assert (purged.jobs, purged.events, purged.updates, purged.edits) == (3, 1, 1, 1)
    assert await job_keys(sessions) == {
        "recent-done",
        "old-pending",
        "old-waiting",
        "old-failed-sync-of-live-order",
        PURGE_KEY,
    }
    async with sessions.begin() as session:
        # A repeat still within the window is still recognized: Zoom's retry, Telegram's redelivery.
        assert not await repos.remember_event(session, "retried-event", "meeting.updated", now)
        assert await repos.is_processed(session, 2)
        assert not await repos.mark_update(session, 2, now)
        edits = await repos.customer_edits_since(session, OWNER, CUSTOMER, now - timedelta(days=1))
        assert edits == [now - timedelta(minutes=59)]
    await engine.dispose()


async def test_the_purge_job_runs_once_among_replicas_and_plans_its_next_run(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        await repos.keep_job_planned(session, PURGE, PURGE_KEY, utcnow())
        await repos.keep_job_planned(session, PURGE, PURGE_KEY, utcnow())  # a second replica starting
    await add_job(sessions, "old-done", "done", utcnow() - timedelta(days=31))
    lane = Lane("upkeep", (PURGE,), concurrency=1)
    workers = [Worker(sessions, Outbox(), {PURGE: Retention(sessions, KEEP).run}, [lane]) for _ in range(2)]
    started = utcnow()
    assert await workers[0].run_due(lane) == 1
    assert await workers[1].run_due(lane) == 0, "the next purge is due only after the interval"
    assert await job_keys(sessions) == {PURGE_KEY}
    async with sessions() as session:
        rows = list(await session.scalars(select(JobRow).where(JobRow.kind == PURGE)))
    assert [(row.status, row.locked_until) for row in rows] == [("pending", None)]
    assert started + KEEP.interval <= rows[0].run_at <= utcnow() + KEEP.interval
    await engine.dispose()
