"""Benchmark: the calendar feed of an owner with many orders, served by the real bot over HTTP.

    python -m bench.calendar_feed [--orders 10000] [--database sqlite|postgresql]

Seeds one owner's orders straight into a fresh database, starts `python -m bot` against the sandbox and
times `GET /calendar/<token>.ics`: the first answer (every event serialized), the next ones (only changed
events are serialized again) and a conditional request answered 304.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from bot.domain import utcnow
from bot.services.calendars import TOKEN_BYTES, token_hash
from sandbox.harness import BotProcess, bot_environment, start_sandbox
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import CalendarFeedRow, OrderRow, PersonRow, ServiceRow
from tests.support import fresh_database

OWNER, CUSTOMER = 1001, 1002


async def seed(database_url: str, orders: int, token: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    now = utcnow()
    async with create_sessionmaker(engine).begin() as session:
        for user_id in (OWNER, CUSTOMER):
            session.add(PersonRow(id=user_id, first_name=f"User {user_id}", created_at=now))
        await session.flush()
        service = ServiceRow(
            code="bench", owner_id=OWNER, name="Consultation", duration_min=30, timezone="UTC", created_at=now
        )
        session.add(service)
        await session.flush()
        rows = [
            {
                "service_id": service.id, "owner_id": OWNER, "customer_id": CUSTOMER, "name": f"Order {i}",
                "start_at": now + timedelta(hours=i - 100),
                "end_at": now + timedelta(hours=i - 100, minutes=30),
                "duration_min": 30, "timezone": "UTC", "status": "confirmed", "version": 2,
                "wants_meeting": True, "meeting_state": "ready", "join_url": f"https://zoom.example/j/{i}",
                "synced_version": 2, "created_at": now, "updated_at": now,
            }
            for i in range(orders)
        ]  # fmt: skip
        await session.execute(insert(OrderRow), rows)
        session.add(CalendarFeedRow(user_id=OWNER, token_hash=token_hash(token), created_at=now))
    await engine.dispose()


def timed(
    http: httpx.Client, url: str, headers: dict[str, str] | None = None
) -> tuple[float, httpx.Response]:
    began = time.perf_counter()
    answer = http.get(url, headers=headers or {})
    return time.perf_counter() - began, answer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calendar_feed", description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    sandbox = start_sandbox()
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.database, Path(folder)) as url:
        asyncio.run(seed(url, args.orders, token))
        bot = BotProcess.in_folder(sandbox, bot_environment(sandbox, url), Path(folder)).start()
        try:
            with httpx.Client(timeout=120) as http:
                feed_url = f"{bot.web_url}/calendar/{token}.ics"
                first, answer = timed(http, feed_url)
                assert answer.status_code == 200, answer.text
                again = [timed(http, feed_url)[0] for _ in range(5)]
                unchanged, cached = timed(http, feed_url, {"If-None-Match": answer.headers["etag"]})
                assert cached.status_code == 304
        finally:
            bot.stop()
            sandbox.stop()
    events = answer.content.count(b"BEGIN:VEVENT")
    print(f"calendar feed: {events} events of {args.orders} orders, {len(answer.content) / 1e6:.1f} MB")
    print(f"  first answer (every event serialized): {first * 1000:.0f} ms")
    print(f"  next answers, median of 5:             {statistics.median(again) * 1000:.0f} ms")
    print(f"  conditional request answered 304:      {unchanged * 1000:.0f} ms")


if __name__ == "__main__":
    main()
