"""Orders in people's calendars: one order's `.ics` file, and each user's private calendar feed.

A feed URL carries a random 256-bit token; only its sha256 is stored, so the bot cannot show an existing
link again (it was shown once, when made) and a copy of the database does not open anyone's feed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n, texts
from bot.domain import utcnow
from bot.errors import StaleAction
from bot.ics import CalendarEntry, calendar_of
from bot.services.orders import role_of
from storage import repos
from storage.models import OrderRow, ServiceRow

FEED_DAYS_BACK = 30
TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes in URL-safe base64 without padding


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CalendarFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class Feed:
    """A feed's validators, known from the orders alone; the body is serialized only when it is sent."""

    entries: tuple[CalendarEntry, ...]
    domain: str
    language: str
    etag: str
    last_modified: datetime

    @property
    def body(self) -> bytes:
        return calendar_of(self.entries, self.domain, self.language, feed=True)


class Calendars:
    """Builds calendar files and feeds, and issues and replaces feed links."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], public_url: str) -> None:
        self._sessions = sessions
        self._public_url = public_url.rstrip("/")
        self._domain = urlsplit(public_url).hostname or "localhost"

    def feed_url(self, token: str) -> str:
        return f"{self._public_url}/calendar/{token}.ics"

    async def order_file(self, user_id: int, order_id: int | None) -> CalendarFile:
        """`order-<n>.ics` for one of the user's orders."""
        async with self._sessions() as session:
            row = await repos.get_order(session, order_id) if order_id is not None else None
            if row is None:
                raise StaleAction(texts.STALE_BUTTON)
            role_of(row, user_id)
            service = await session.get(ServiceRow, row.service_id)
            entry = _entry(row, service.name if service else "")
        content = calendar_of([entry], self._domain, i18n.current(), feed=False)
        return CalendarFile(f"order-{entry.order_id}.ics", content)

    async def link_if_none(self, user_id: int) -> str | None:
        """A new feed URL when the user has none yet; None when they already have one."""
        async with self._sessions.begin() as session:
            if await repos.has_calendar_feed(session, user_id):
                return None
            return await self._issue(session, user_id)

    async def new_link(self, user_id: int) -> str:
        """Replace the user's feed token: the old URL stops working at once."""
        async with self._sessions.begin() as session:
            return await self._issue(session, user_id)

    async def _issue(self, session: AsyncSession, user_id: int) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await repos.put_calendar_feed(session, user_id, token_hash(token), utcnow())
        return self.feed_url(token)

    async def feed(self, token: str) -> Feed | None:
        """The feed for a token; None (without asking the database) for anything not shaped like one."""
        if not TOKEN_SHAPE.fullmatch(token):
            return None
        async with self._sessions() as session:
            found = await repos.calendar_feed_by_hash(session, token_hash(token))
            if found is None:
                return None
            feed_row, language = found[0], i18n.language_for(found.language, found.language_code)
            rows = await repos.calendar_orders(session, feed_row.user_id, _cutoff(utcnow()))
        issued = feed_row.created_at
        entries = tuple(_entry(row, row.service_name) for row in rows)
        last = max((entry.updated_at for entry in entries), default=issued)
        # Everything an event shows is in its entry, so the entries fingerprint the body: a conditional
        # request is answered without serializing thousands of events.
        fingerprint = repr((self._domain, language, entries)).encode()
        etag = '"' + hashlib.sha256(fingerprint).hexdigest()[:32] + '"'
        return Feed(entries, self._domain, language, etag, last.replace(microsecond=0))


def _cutoff(now: datetime) -> datetime:
    """30 days back from the start of today (UTC): the feed stays byte-identical within a day."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC) - timedelta(days=FEED_DAYS_BACK)


def _entry(row: OrderRow, service_name: str) -> CalendarEntry:
    return CalendarEntry(
        order_id=row.id,
        name=row.name,
        service_name=service_name,
        start_at=row.start_at,
        end_at=row.end_at,
        status=row.status,
        version=row.version,
        join_url=row.join_url,
        updated_at=row.updated_at,
    )
