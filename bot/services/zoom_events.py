"""Zoom's webhook events: verified and recorded at once (a durable job), handled by the worker."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.domain import ACTIVE_STATUSES, MeetingState, utcnow
from bot.i18n import Minutes, Text, When
from bot.jobs.outbox import Outbox
from bot.jobs.worker import Done, Job, Outcome
from bot.services.announcer import announced_values
from bot.services.zoom_accounts import ZoomAccounts
from bot.zoom import webhook
from bot.zoom.client import parse_start_time
from storage import repos
from storage.models import OrderRow

log = logging.getLogger(__name__)

EVENT = "zoom_event"
HANDLED = {"app_deauthorized", "meeting.deleted", "meeting.updated"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def event_key(data: dict[str, Any]) -> str:
    payload = _object(data.get("payload"))
    obj = _object(payload.get("object"))
    subject = obj.get("uuid") or obj.get("id") or payload.get("user_id") or ""
    return f"{data.get('event')}:{data.get('event_ts')}:{subject}"[:256]


class ZoomEvents:
    """Receives Zoom's webhook deliveries and runs the resulting jobs."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], secret: str, accounts: ZoomAccounts, outbox: Outbox
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._accounts = accounts
        self._outbox = outbox

    async def receive(self, headers: dict[str, str], body: bytes) -> Answer:
        """Verify, answer URL validation, and queue anything else; returns within milliseconds."""
        if not webhook.verify(self._secret, headers, body):
            return Answer(401, {"error": "invalid signature"})
        try:
            data = json.loads(body)
        except ValueError:
            return Answer(400, {"error": "body is not JSON"})
        if not isinstance(data, dict):
            return Answer(400, {"error": "body is not an object"})
        event = str(data.get("event", ""))
        if event == "endpoint.url_validation":
            plain = str(_object(data.get("payload")).get("plainToken", ""))[:256]
            return Answer(200, webhook.url_validation_answer(self._secret, plain))
        if event in HANDLED:
            async with self._sessions.begin() as session:
                key = event_key(data)
                if await repos.remember_event(session, key, event, utcnow()):
                    await repos.enqueue(session, EVENT, f"event:{key}", utcnow(), payload=data)
            self._outbox.wake()
        return Answer(200, {"status": "received"})

    async def run(self, job: Job) -> Outcome:
        event = str(job.payload.get("event", ""))
        payload = _object(job.payload.get("payload"))
        if event == "app_deauthorized":
            count = await self._accounts.deauthorized(
                str(payload.get("user_id", "")), str(payload.get("account_id", ""))
            )
            log.info("Zoom app removed by a user: %s connection(s) switched off", count)
        elif event == "meeting.deleted":
            await self._meeting_deleted(_object(payload.get("object")))
        elif event == "meeting.updated":
            await self._meeting_updated(_object(payload.get("object")))
        return Done()

    async def _order(self, session: AsyncSession, obj: dict[str, Any]) -> OrderRow | None:
        try:
            meeting_id = int(obj.get("id", 0))
        except (TypeError, ValueError, OverflowError):
            return None
        if not 0 < meeting_id < 2**63:
            return None
        row = await repos.order_by_meeting(session, meeting_id)
        return row if row is not None and row.status in ACTIVE_STATUSES else None

    async def _meeting_deleted(self, obj: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            row = await self._order(session, obj)
            if row is None:
                return
            row.meeting_id, row.join_url = None, None
            row.meeting_state = MeetingState.DELETED_IN_ZOOM
            row.announced = announced_values(row)
            row.updated_at = utcnow()
            text = Text(
                texts.MEETING_DELETED_OWNER,
                {"id": row.id, "name": escape(row.name), "start": When(row.start_at, row.timezone)},
            )
            await self._outbox.send(session, row.owner_id, text, order_id=row.id)
            await self._outbox.refresh_cards(session, row.id)

    async def _meeting_updated(self, obj: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            row = await self._order(session, obj)
            if row is None or not _differs(row, obj):
                return  # an echo of our own update, or a change that does not touch the order
            row.meeting_state = MeetingState.DRIFTED
            row.updated_at = utcnow()
            text = Text(
                texts.MEETING_DRIFT_OWNER,
                {
                    "id": row.id,
                    "name": escape(row.name),
                    "start": When(row.start_at, row.timezone),
                    "duration": Minutes(row.duration_min),
                },
            )
            await self._outbox.send(session, row.owner_id, text, order_id=row.id)
            await self._outbox.refresh_cards(session, row.id)


def _differs(row: OrderRow, obj: dict[str, Any]) -> bool:
    """Whether the changed fields Zoom reports disagree with the order."""
    if "topic" in obj and str(obj["topic"]) != row.name[:200]:
        return True
    if "duration" in obj and obj["duration"] != row.duration_min:
        return True
    if "start_time" in obj:
        try:
            start: datetime = parse_start_time(str(obj["start_time"]))
        except ValueError:
            return True
        return start != row.start_at
    return False
