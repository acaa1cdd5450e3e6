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
from bot.jobs.worker import Done, Job, Outcome, Retry
from bot.services.order_changes import announced_values
from bot.services.zoom_connections import NoConnection, ZoomConnections
from bot.zoom import webhook
from bot.zoom.client import ZoomClient, format_start_time, parse_start_time
from bot.zoom.errors import ZoomError, ZoomGrantError, ZoomNotFound
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
        self,
        sessions: async_sessionmaker[AsyncSession],
        secret: str,
        connections: ZoomConnections,
        outbox: Outbox,
        zoom: ZoomClient | None = None,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._connections = connections
        self._outbox = outbox
        self._zoom = zoom

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
            count = await self._connections.deauthorized(
                str(payload.get("user_id", "")),
                str(payload.get("account_id", "")),
                _moment(payload.get("deauthorization_time")),
            )
            log.info("Zoom app removed by a user: %s connection(s) switched off", count)
        elif event == "meeting.deleted":
            await self._meeting_deleted(_object(payload.get("object")))
        elif event == "meeting.updated":
            return await self._meeting_updated(_object(payload.get("object")))
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

    async def _meeting_updated(self, obj: dict[str, Any]) -> Outcome:
        async with self._sessions() as session:
            row = await self._order(session, obj)
            if row is None or not _differs(row, obj):
                return Done()  # an echo of our own update, or a change that does not touch the order
            owner_id, meeting_id = row.owner_id, row.meeting_id
        # The event may be late or out of order (Zoom retries for hours; our own PATCH's echo can come after
        # a later edit): only what Zoom holds now counts.
        current = await self._current(owner_id, meeting_id)
        if isinstance(current, Retry):
            return current
        async with self._sessions.begin() as session:
            row = await self._order(session, obj)
            if row is None or row.meeting_id != meeting_id:
                return Done()
            if current is not None and not _differs(row, current):
                log.info("A meeting.updated for order %s is older than Zoom's state; ignored", row.id)
                return Done()
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
        return Done()

    async def _current(self, owner_id: int, meeting_id: int | None) -> dict[str, Any] | Retry | None:
        """The meeting's fields as Zoom has them now; None when they cannot be known (no connection, or
        the meeting is gone: its own event says so), Retry when Zoom could not answer right now."""
        if self._zoom is None or meeting_id is None:
            return None
        try:
            token = await self._connections.access_token(owner_id)
            meeting = await self._zoom.get_meeting(token, meeting_id)
        except (NoConnection, ZoomGrantError, ZoomNotFound):
            return None
        except ZoomError as exc:
            return Retry(f"reading the meeting from Zoom failed: {type(exc).__name__}")
        return {
            "topic": meeting.topic,
            "duration": meeting.duration_min,
            "start_time": format_start_time(meeting.start),
        }


def _moment(value: object) -> datetime | None:
    """`deauthorization_time` and the like (`2019-06-17T13:52:28.632Z`); None when absent or malformed."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return parse_start_time(value)
    except ValueError:
        return None


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
