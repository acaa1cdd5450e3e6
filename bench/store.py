"""A large store: orders written straight into the database through the product's models, then /orders.

Ten owners share the orders equally (10 000 each for 100 000), ordered by 1 000 customers over about a
year and a half of half-hour slots, each with its two cards (customer's and owner's). The bot then starts
on that database and owners send /orders in turn: the reply is the page header (sent after the page's
query), the whole page is the header, five cards and the "more" line.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.procstat import peak_rss_kib, rss_kib
from bench.remote_sandbox import start_remote_sandbox
from sandbox.harness import BotProcess, bot_environment
from sandbox.telegram.client import TelegramControl, TelegramUser
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import OrderMessageRow, OrderRow, PersonRow, ServiceRow
from tests.support import fresh_database

OWNERS = 10
CUSTOMERS = 1_000
FIRST_OWNER = 7_000_000
FIRST_CUSTOMER = 8_000_000
SLOTS_PER_DAY = 18
CHUNK = 5_000


@dataclass(frozen=True)
class StoreFigures:
    orders: int
    per_owner: int
    fill_seconds: float
    rss_after_start_kib: int
    peak_rss_kib: int
    reply_seconds: list[float]
    page_seconds: list[float]
    listing_seconds: list[float]


def _order(number: int, owner: int, service_id: int, index: int, now: datetime) -> dict[str, Any]:
    day, slot = divmod(index, SLOTS_PER_DAY)
    start = (now - timedelta(days=500) + timedelta(days=day)).replace(
        hour=8 + slot // 2, minute=30 * (slot % 2), second=0, microsecond=0
    )
    past = start < now
    status = ("done" if number % 10 else "cancelled") if past else ("confirmed" if number % 3 else "new")
    return {
        "id": number,
        "service_id": service_id,
        "owner_id": owner,
        "customer_id": FIRST_CUSTOMER + number % CUSTOMERS,
        "name": f"Lesson {number}",
        "start_at": start,
        "end_at": start + timedelta(minutes=30),
        "duration_min": 30,
        "timezone": "Europe/Berlin",
        "status": status,
        "version": 1,
        "wants_meeting": False,
        "meeting_state": "none",
        "synced_version": 0,
        "created_at": start - timedelta(days=7),
        "updated_at": start - timedelta(days=7),
    }


async def fill(url: str, orders: int) -> None:
    """Migrate, then write owners, customers, a service per owner and `orders` orders with their cards."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        sessions = create_sessionmaker(engine)
        now = datetime.now(UTC)
        per_owner = orders // OWNERS
        async with sessions.begin() as session:
            people = [
                {"id": FIRST_OWNER + i, "first_name": f"Owner{i}", "username": f"owner{i}"}
                for i in range(OWNERS)
            ] + [
                {"id": FIRST_CUSTOMER + i, "first_name": f"Customer{i}", "username": None}
                for i in range(CUSTOMERS)
            ]
            for person in people:
                person.update(timezone=None, owner_menu_set=False, booking_seq=0, created_at=now)
            await session.execute(insert(PersonRow), people)
            await session.execute(
                insert(ServiceRow),
                [
                    {
                        "id": i + 1,
                        "code": f"benchstore{i:04d}",
                        "owner_id": FIRST_OWNER + i,
                        "name": f"Lessons {i}",
                        "duration_min": 30,
                        "timezone": "Europe/Berlin",
                        "zoom_enabled": False,
                        "created_at": now,
                    }
                    for i in range(OWNERS)
                ],
            )
        number = 0
        rows: list[dict[str, Any]] = []
        for index in range(per_owner):
            for owner in range(OWNERS):
                number += 1
                rows.append(_order(number, FIRST_OWNER + owner, owner + 1, index, now))
                if len(rows) == CHUNK:
                    await _write(sessions, rows)
                    rows = []
        if rows:
            await _write(sessions, rows)
    finally:
        await engine.dispose()


async def _write(sessions: Any, rows: list[dict[str, Any]]) -> None:
    cards = []
    for row in rows:
        cards.append(
            {
                "order_id": row["id"],
                "chat_id": row["customer_id"],
                "message_id": row["id"],
                "role": "customer",
            }
        )
        cards.append(
            {"order_id": row["id"], "chat_id": row["owner_id"], "message_id": row["id"], "role": "owner"}
        )
    async with sessions.begin() as session:
        await session.execute(insert(OrderRow), rows)
        await session.execute(insert(OrderMessageRow), cards)


async def listing_page_seconds(url: str, samples: int) -> list[float]:
    """The listing's own cost: Orders.page (count and one page) for the owners in turn, in this process."""
    from bot.jobs.outbox import Outbox
    from bot.services.orders import Orders

    engine = create_engine(url)
    try:
        orders = Orders(create_sessionmaker(engine), Outbox())
        await orders.page(FIRST_OWNER, 0)  # the first connection and compiled statements are not the listing
        times = []
        for sample in range(samples):
            started = time.perf_counter()
            await orders.page(FIRST_OWNER + sample % OWNERS, 0)
            times.append(time.perf_counter() - started)
        return times
    finally:
        await engine.dispose()


def _page_times(
    telegram: TelegramControl, owner: int, sent: float, timeout: float = 60
) -> tuple[float, float]:
    """Seconds from sending /orders to the header, and to the last message of the page."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [
            c for c in telegram.calls("sendMessage") if str(c.params.get("chat_id")) == str(owner) and c.ok
        ]
        header = next((c for c in mine if "Your orders (" in str(c.params.get("text"))), None)
        last = next((c for c in mine if str(c.params.get("text", "")).endswith("more.")), None)
        if header is not None and last is not None:
            return header.at - sent, last.at - sent
        if time.monotonic() > deadline:
            raise SystemExit(f"no whole /orders page for owner {owner} within {timeout:.0f} s")
        time.sleep(0.02)


def measure_store(args: argparse.Namespace) -> StoreFigures:
    orders = args.store_orders - args.store_orders % OWNERS
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.database, Path(folder)) as url:
        started = time.monotonic()
        asyncio.run(fill(url, orders))
        fill_seconds = time.monotonic() - started
        print(f"  store written: {orders} orders in {fill_seconds:.1f} s", flush=True)
        orders = asyncio.run(listing_page_seconds(url, args.store_samples))
        sandbox = start_remote_sandbox()
        bot = BotProcess.in_folder(sandbox, bot_environment(sandbox, url, LOG_LEVEL="WARNING"), Path(folder))
        try:
            bot.start()
            assert bot.process is not None
            pid = bot.process.pid
            after_start = rss_kib(pid)
            server = sandbox.telegram_server.url
            owners = [TelegramUser(server, FIRST_OWNER + i, f"Owner{i}", f"owner{i}") for i in range(OWNERS)]
            replies: list[float] = []
            pages: list[float] = []
            with TelegramControl(server) as telegram:
                for sample in range(args.store_samples):
                    owner = owners[sample % OWNERS]
                    telegram.clear_calls()
                    sent = time.time()
                    owner.send("/orders")
                    reply, page = _page_times(telegram, owner.user_id, sent)
                    replies.append(reply)
                    pages.append(page)
            return StoreFigures(
                orders=orders,
                per_owner=orders // OWNERS,
                fill_seconds=fill_seconds,
                rss_after_start_kib=after_start,
                peak_rss_kib=peak_rss_kib(pid),
                reply_seconds=replies,
                page_seconds=pages,
                listing_seconds=orders,
            )
        finally:
            bot.stop()
            sandbox.stop()
