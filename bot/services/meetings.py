"""Making an order's Zoom meeting match the order: the "sync meeting" job.

The job reads the order's current fields, creates the meeting once (never a second one: an attempt
whose outcome is unknown is followed by a search for the meeting by its marker) or updates it with
one PATCH and reads it back, and only then tells both chats.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from html import escape
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.domain import ACTIVE_STATUSES, ConnectionStatus, MeetingState, utcnow
from bot.i18n import Text, language_for, render
from bot.jobs.outbox import Outbox
from bot.jobs.worker import Done, Fail, Job, Outcome, Retry, Wait
from bot.metrics import Metrics
from bot.services.order_changes import announce
from bot.services.zoom_connections import Host, NoConnection, ZoomConnections
from bot.zoom.client import Meeting, MeetingSpec, ZoomClient
from bot.zoom.errors import (
    ZoomAuthError,
    ZoomConnectionError,
    ZoomError,
    ZoomGrantError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomRequestError,
)
from storage import repos
from storage.direct import direct
from storage.models import OrderRow, ZoomConnectionRow

log = logging.getLogger(__name__)

SYNC = "meeting_sync"
# Edits wait this long for more edits, so a burst of changes reaches Zoom as one PATCH.
EDIT_SETTLE = timedelta(seconds=3)  # the default of MEETING_EDIT_SETTLE_SECONDS
T = TypeVar("T")


class CreateMayLand(Exception):
    """An earlier create got no answer and may still land in Zoom: look for it again at `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__("an earlier create got no answer and may still land in Zoom")
        self.until = until


def marker(order_id: int) -> str:
    return f"[telegram-order-{order_id}]"


@dataclass(frozen=True)
class Snapshot:
    order_id: int
    owner_id: int
    version: int
    meeting_id: int | None
    spec: MeetingSpec
    active: bool
    wants_meeting: bool
    in_sync: bool


def sync_key(order_id: int) -> str:
    return f"meeting:{order_id}"


async def queue_sync(
    session: AsyncSession, outbox: Outbox, row: OrderRow, delay: timedelta = timedelta(0)
) -> None:
    """(Re)queue the order's one sync job; a delay lets a burst of edits become one PATCH."""
    await repos.enqueue(
        session, SYNC, sync_key(row.id), utcnow(), order_id=row.id, owner_id=row.owner_id, delay=delay
    )
    outbox.wake_on_commit(session, SYNC)


class MeetingSync:
    """Runs "sync meeting" jobs."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zoom: ZoomClient,
        connections: ZoomConnections,
        outbox: Outbox,
        metrics: Metrics | None = None,
        create_settle: timedelta = timedelta(seconds=60),
    ) -> None:
        self._sessions = sessions
        self._create_settle = create_settle
        self._zoom = zoom
        self._connections = connections
        self._outbox = outbox
        self._metrics = metrics

    async def run(self, job: Job) -> Outcome:
        if job.order_id is None:
            return Fail("no order")
        snapshot, host = await self._read(job.order_id)
        if snapshot is None or not snapshot.wants_meeting or not snapshot.active:
            return Done()
        if snapshot.in_sync:
            job.progress["create_sent"] = False  # recorded with the outcome
            return Done()
        try:
            if host is None:
                # The token first: a refresh may take a while, and the order is read afresh after it.
                host = await self._connections.host(snapshot.owner_id)
                snapshot = (await self._read(job.order_id))[0] or snapshot
            return await self._sync(job, snapshot, host)
        except NoConnection:
            await self._set_state(snapshot.order_id, MeetingState.NONE, None)
            return Done()
        except ZoomGrantError:
            await self._set_state(snapshot.order_id, MeetingState.WAITING_RECONNECT, None)
            return Wait("waiting for the owner to reconnect Zoom")
        except ZoomRateLimited as exc:
            return await self._rate_limited(snapshot, exc)
        except CreateMayLand as exc:
            return Retry(str(exc), at=exc.until)
        except ZoomRequestError as exc:
            await self._set_state(snapshot.order_id, MeetingState.FAILED, exc.in_words(), tell_owner=True)
            return Fail(str(exc), told=True)
        except ZoomError as exc:
            return Retry(f"{type(exc).__name__}: {exc}")

    async def _read(self, order_id: int) -> tuple[Snapshot | None, Host | None]:
        """The order as it is now, and the host when its token can be used as read (one statement)."""
        async with direct(self._sessions) as transaction:
            row = await repos.order_to_sync(transaction, order_id)
        if row is None:
            return None, None
        language = language_for(row.language, row.language_code)
        spec = MeetingSpec(
            topic=row.name,
            start=row.start_at,
            duration_min=row.duration_min,
            timezone=row.timezone,
            agenda=f"{render(language, texts.MEETING_AGENDA, id=row.id)} {marker(row.id)}",
        )
        in_sync = row.meeting_id is not None and row.synced_version >= row.version
        snapshot = Snapshot(
            order_id=row.id,
            owner_id=row.owner_id,
            version=row.version,
            meeting_id=row.meeting_id,
            spec=spec,
            active=row.status in ACTIVE_STATUSES,
            wants_meeting=row.wants_meeting,
            in_sync=in_sync and row.meeting_state == MeetingState.READY,
        )
        return snapshot, self._connections.read_host(row.owner_id, row)

    async def _sync(self, job: Job, snapshot: Snapshot, host: Host) -> Outcome:
        blocked = host.writes_blocked_until
        if blocked is not None and blocked > utcnow():
            raise ZoomRateLimited("daily limit", retry_at=blocked, daily=True)
        if snapshot.meeting_id is None:
            meeting = await self._create(job, snapshot, host)
        else:
            try:
                meeting = await self._update(snapshot, snapshot.meeting_id, host)
            except ZoomNotFound:
                log.info("Meeting of order %s is gone in Zoom; creating a new one", snapshot.order_id)
                meeting = await self._create(job, snapshot, host)
        if meeting.start != snapshot.spec.start or meeting.duration_min != snapshot.spec.duration_min:
            return Retry("Zoom did not apply the new start or duration yet")
        # The meeting goes to the order in the commit that records the outcome (one write transaction): a
        # crash before it runs the job again, which finds the meeting by its marker (`create_sent`).
        job.write_with_outcome(lambda session: self._finish(session, snapshot, meeting))
        job.progress["create_sent"] = False  # recorded with the outcome
        return Done()

    async def _create(self, job: Job, snapshot: Snapshot, host: Host) -> Meeting:
        if job.progress.get("create_sent"):
            found = await self._find(snapshot, host)
            if found is not None:
                log.info("Adopted the meeting of order %s created by an earlier attempt", snapshot.order_id)
                return found
            # A create that got no answer may still be running in Zoom and land later: creating again now
            # would give the order a second meeting. Look again until it had time to land.
            unanswered = job.progress.get("create_unanswered_at")
            until = datetime.fromisoformat(unanswered) + self._create_settle if unanswered else None
            if until is not None and utcnow() < until:
                raise CreateMayLand(until)
        # The host's own settings as last read (at connect, then daily): an order costs one Zoom call.
        spec = replace(snapshot.spec, defaults=host.defaults)
        await job.save_progress(create_sent=True, create_unanswered_at=None)
        try:
            create = self._zoom.create_meeting
            return await self._call(snapshot.owner_id, host, lambda token: create(token, spec))
        except ZoomConnectionError:
            await job.save_progress(create_unanswered_at=utcnow().isoformat())
            raise

    async def _find(self, snapshot: Snapshot, host: Host) -> Meeting | None:
        meetings = await self._call(snapshot.owner_id, host, self._zoom.upcoming_meetings)
        tag = marker(snapshot.order_id)
        found = next((listed.id for listed in meetings if tag in listed.agenda), None)
        if found is None:
            return None
        return await self._call(snapshot.owner_id, host, lambda token: self._zoom.get_meeting(token, found))

    async def _update(self, snapshot: Snapshot, meeting_id: int, host: Host) -> Meeting:
        zoom, owner_id = self._zoom, snapshot.owner_id
        await self._call(owner_id, host, lambda token: zoom.update_meeting(token, meeting_id, snapshot.spec))
        return await self._call(owner_id, host, lambda token: zoom.get_meeting(token, meeting_id))

    async def _call(self, owner_id: int, host: Host, action: Callable[[str], Awaitable[T]]) -> T:
        """Call Zoom with the host's token; on 401 refresh once (the host keeps the new one) and try again."""
        try:
            return await action(host.token)
        except ZoomAuthError:
            host.token = await self._connections.access_token(owner_id, rejected=host.token)
            return await action(host.token)

    async def _finish(self, session: AsyncSession, snapshot: Snapshot, meeting: Meeting) -> None:
        """Give the order its meeting and tell both chats, in the transaction of the job's outcome."""
        row = await repos.get_order(session, snapshot.order_id, lock=True)
        if row is None:
            return
        first_link = row.join_url is None and row.synced_version == 0
        row.meeting_id, row.join_url = meeting.id, meeting.join_url
        row.meeting_error = None
        row.updated_at = utcnow()  # before `announce` reads: its reads flush the row, in one UPDATE
        if row.version == snapshot.version:
            row.synced_version = snapshot.version
            row.meeting_state = MeetingState.READY
            await announce(session, self._outbox, row, meeting=True)
        if first_link and self._metrics is not None:
            self._metrics.confirm_to_join.observe((utcnow() - row.created_at).total_seconds())

    async def _set_state(
        self, order_id: int, state: MeetingState, error: str | None, tell_owner: bool = False
    ) -> None:
        async with self._sessions.begin() as session:
            row = await repos.get_order(session, order_id, lock=True)
            if row is None or (row.meeting_state == state and row.meeting_error == error):
                return
            row.meeting_state, row.meeting_error = state, error
            row.updated_at = utcnow()
            # Zoom cannot be updated now: tell both parties about the change without claiming a meeting.
            await announce(session, self._outbox, row, meeting=False)
            if tell_owner and error:
                await self._outbox.send(
                    session,
                    row.owner_id,
                    Text(texts.ZOOM_REFUSED, {"order": row.id, "reason": escape(error)}),
                )

    async def _rate_limited(self, snapshot: Snapshot, exc: ZoomRateLimited) -> Outcome:
        if not exc.daily:
            return Retry("Zoom's per-second rate limit", at=exc.retry_at)
        await self._set_state(snapshot.order_id, MeetingState.WAITING_LIMIT, None)
        async with self._sessions.begin() as session:
            row: ZoomConnectionRow | None = await repos.connection_of(session, snapshot.owner_id, lock=True)
            if row is not None and row.status == ConnectionStatus.ACTIVE and exc.retry_at:
                if row.writes_blocked_until is None or row.writes_blocked_until < exc.retry_at:
                    first_time = row.writes_blocked_until is None or row.writes_blocked_until < utcnow()
                    row.writes_blocked_until = exc.retry_at
                    if first_time:
                        await self._outbox.send(
                            session, row.owner_id, Text(texts.ZOOM_DAILY_LIMIT, {"email": escape(row.email)})
                        )
        return Retry("Zoom's daily limit for this host", at=exc.retry_at)
