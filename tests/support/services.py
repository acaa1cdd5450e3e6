"""The bot's services wired over one migrated database as the composition root wires them, without
Telegram: for integration tests that call services directly (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import InlineKeyboardMarkup

from bot.crypto import TokenCipher
from bot.domain import Order, utcnow
from bot.jobs.outbox import Outbox
from bot.jobs.worker import Done, Job, Outcome
from bot.services.calendars import Calendars
from bot.services.drafts import Drafts
from bot.services.ordering import Ordering
from bot.services.orders import Orders
from bot.services.persons import Persons
from bot.services.reminders import Reminders
from bot.services.services import Services
from bot.services.zoom_connections import ZoomConnections
from bot.telegram.views import reminder_view
from bot.zoom.client import ZoomClient
from bot.zoom.oauth import ZoomOAuth
from sandbox.zoom.control_client import ZoomControl
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import OrderRow, PersonRow, ServiceRow

NO_ZOOM = "http://127.0.0.1:9"  # nothing listens there: a service that calls Zoom fails loudly
PUBLIC_URL = "https://bot.example.com"


@dataclass
class Sent:
    """Stands in for Telegram delivery: records what a reminder job would send."""

    messages: list[tuple[int, str, InlineKeyboardMarkup | None]] = field(default_factory=list)

    async def remind(self, job: Job, chat_id: int, order: Order) -> Outcome:
        text, keyboard = reminder_view(order)  # rendered as the bot renders it, in the current language
        self.messages.append((chat_id, text, keyboard))
        return Done()


@dataclass
class WiredServices:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    cipher: TokenCipher
    outbox: Outbox
    connections: ZoomConnections
    persons: Persons
    drafts: Drafts
    services: Services
    ordering: Ordering
    orders: Orders
    calendars: Calendars
    reminders: Reminders
    sent: Sent  # what reminders sent
    control: ZoomControl | None = None  # the Zoom emulator's control client, with `zoom`


@asynccontextmanager
async def wired_services(
    database_url: str,
    *,
    zone: str = "UTC",
    zoom: tuple[str, ZoomControl, str, str, str] | None = None,
) -> AsyncIterator[WiredServices]:
    """Migrate the database and wire the services over it. `zoom` is (the emulator's URL, its control client,
    client id, client secret, redirect URI); without it nothing is configured to reach Zoom."""
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    outbox = Outbox()
    cipher = TokenCipher([Fernet.generate_key().decode()])
    try:
        async with httpx.AsyncClient() as http:
            oauth, zoom_url, control = None, NO_ZOOM, None
            if zoom is not None:
                zoom_url, control, client_id, client_secret, redirect = zoom
                oauth = ZoomOAuth(http, zoom_url, client_id, client_secret, redirect)
            connections = ZoomConnections(sessions, oauth, ZoomClient(http, f"{zoom_url}/v2"), cipher, outbox)
            persons = Persons(sessions, zone)
            drafts = Drafts(sessions)
            sent = Sent()
            yield WiredServices(
                engine,
                sessions,
                http,
                cipher,
                outbox,
                connections,
                persons,
                drafts,
                Services(sessions, persons, connections),
                Ordering(sessions, drafts, outbox),
                Orders(sessions, outbox),
                Calendars(sessions, PUBLIC_URL),
                Reminders(sessions, sent),
                sent,
                control,
            )
    finally:
        await engine.dispose()


async def add_owner_service_and_customer(
    session: AsyncSession, owner: int, customer: int, now: datetime, code: str = "svc"
) -> ServiceRow:
    """Rows for two users and the owner's 30-minute UTC service `code`, straight into the database."""
    for user_id in (owner, customer):
        session.add(
            PersonRow(id=user_id, first_name="P", created_at=now, booking_seq=0, owner_menu_set=False)
        )
    await session.flush()
    service = ServiceRow(code=code, owner_id=owner, name="S", duration_min=30, timezone="UTC", created_at=now)
    session.add(service)
    await session.flush()
    return service


async def add_order(
    session: AsyncSession,
    service: ServiceRow,
    customer: int,
    start: datetime,
    name: str,
    status: str,
    created: datetime | None = None,
) -> OrderRow:
    """A 30-minute order of `service` for `customer` at `start`, straight into the database (created and last
    changed at `created`, by default now)."""
    now = created or utcnow()
    row = OrderRow(
        service_id=service.id,
        owner_id=service.owner_id,
        customer_id=customer,
        name=name,
        start_at=start,
        end_at=start + timedelta(minutes=30),
        duration_min=30,
        timezone="UTC",
        status=status,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row
