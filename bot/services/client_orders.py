"""Orders the owner places for a client, and the invite link through which the client claims one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n, texts
from bot.domain import ConnectionStatus, Order, Service, utcnow
from bot.errors import NotAllowed, StaleAction, UserError
from bot.jobs.outbox import Outbox
from bot.metrics import Metrics
from bot.services.convert import order_of
from bot.services.drafts import Draft, Drafts
from bot.services.ordering import check_slot, insert_order
from bot.services.persons import Person
from bot.services.reminders import plan_reminders
from bot.services.services import service_of, valid_name
from bot.slots import parse_local
from storage import repos
from storage.models import ServiceRow

FLOW = "client"
INVITE_BYTES = 12  # 96 random bits, not derived from the order
CLIENT_NAME_MAX = 100


@dataclass(frozen=True)
class ClientSummary:
    text: str
    nonce: str


class ClientOrders:
    """The owner's side of booking for a client, and the client's claim of the invite."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        drafts: Drafts,
        outbox: Outbox,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._drafts = drafts
        self._outbox = outbox
        self._metrics = metrics

    async def service(self, owner_id: int, service_id: int | None) -> Service:
        async with self._sessions() as session:
            row = await session.get(ServiceRow, service_id) if service_id is not None else None
            if row is None:
                raise StaleAction(texts.STALE_BUTTON)
            if row.owner_id != owner_id:
                raise NotAllowed(texts.NOT_YOURS)
            return service_of(row)

    async def pick_time(self, owner: Person, service_id: int | None, value: str | None) -> Service:
        """Hold the chosen start (any free time in working hours) and ask for the client's name."""
        service = await self.service(owner.id, service_id)
        start = parse_local(value, service.timezone)
        if start is None:
            raise UserError(texts.SLOT_NOT_OFFERED)
        async with self._sessions() as session:
            await check_slot(session, service.id, start, by_owner=True)
        await self._drafts.put(owner.id, FLOW, "name", service_id=service.id, start=start.isoformat())
        return service

    async def name(self, owner: Person, draft: Draft, text: str) -> ClientSummary:
        if draft.flow != FLOW or draft.step != "name":
            raise StaleAction(texts.DRAFT_GONE)
        client = valid_name(text, CLIENT_NAME_MAX)
        service = await self.service(owner.id, int(draft.data["service_id"]))
        updated = await self._drafts.put(owner.id, FLOW, "summary", **draft.data, client=client)
        start = datetime.fromisoformat(str(draft.data["start"]))
        async with self._sessions() as session:
            connection = await repos.connection_of(session, owner.id)
        with_meeting = (
            service.zoom_enabled
            and connection is not None
            and connection.status != ConnectionStatus.DISCONNECTED
        )
        text = i18n.t(
            texts.CLIENT_SUMMARY,
            service=escape(service.name),
            client=escape(client),
            name=escape(order_name(service.name, client)),
            start=i18n.when(start, service.timezone),
            duration=i18n.minutes(service.duration_min),
            zoom=i18n.t(texts.SUMMARY_ZOOM) if with_meeting else "",
        )
        return ClientSummary(text.replace("\n\n", "\n"), updated.nonce)

    async def confirm(self, owner: Person, nonce: str | None, card_message_id: int) -> Order:
        """Place the order for the client; the summary message becomes the owner's card."""
        draft = await self._drafts.get(owner.id)
        if draft is None or draft.flow != FLOW or draft.step != "summary" or draft.nonce != nonce:
            async with self._sessions() as session:
                placed = await repos.order_by_card(session, owner.id, card_message_id)
                if placed is not None and placed.owner_id == owner.id and placed.invite_code:
                    return await order_of(session, placed)  # the same Confirm again
            raise StaleAction(texts.DRAFT_GONE)
        async with self._sessions.begin() as session:
            service = await session.get(ServiceRow, int(draft.data["service_id"]))
            if service is None or service.owner_id != owner.id:
                raise StaleAction(texts.DRAFT_GONE)
            await repos.lock_owner(session, owner.id)
            start = datetime.fromisoformat(str(draft.data["start"]))
            await check_slot(session, service.id, start, by_owner=True)
            client = str(draft.data["client"])
            row = await insert_order(
                session,
                self._outbox,
                service,
                owner.id,
                order_name(service.name, client),
                start,
                start + timedelta(minutes=service.duration_min),
                client_name=client,
                invite_code=secrets.token_urlsafe(INVITE_BYTES),
            )
            await repos.add_order_message(session, row.id, owner.id, card_message_id, "owner")
            # The handler renders the card once this commits; the refresh, held for it until then, makes the
            # card appear even if this process dies before that (see `Outbox.refresh_card`).
            await self._outbox.refresh_card(session, row.id, owner.id, fallback=True)
            await repos.drop_draft(session, owner.id)
            booked = await order_of(session, row)
        if self._metrics is not None:
            self._metrics.order("placed")
        return booked

    async def claim(self, user: Person, code: str) -> Order:
        """The invite link opened: its first opener other than the owner becomes the order's customer."""
        if not code or len(code) > 32:
            raise UserError(texts.INVITE_UNKNOWN)
        async with self._sessions.begin() as session:
            row = await repos.order_by_invite(session, code)
            if row is None:
                raise UserError(texts.INVITE_UNKNOWN)
            if row.owner_id == user.id:
                raise UserError(texts.INVITE_OWN)
            if row.customer_id == user.id:
                raise UserError(texts.INVITE_YOURS, id=row.id)
            if row.customer_id != row.owner_id:
                raise UserError(texts.INVITE_TAKEN)
            now = utcnow()
            await repos.upsert_user(session, user.id, user.first_name[:256], user.username, now)
            row.customer_id = user.id
            row.updated_at = now
            await plan_reminders(session, self._outbox, row)  # the client's chat gets them from now on
            await self._outbox.send_card(session, row.id, user.id, "customer")
            await self._outbox.refresh_cards(session, row.id)
            told = i18n.Text(
                texts.INVITE_CLAIMED,
                {"customer": escape(user.first_name), "id": row.id, "name": escape(row.name)},
            )
            await self._outbox.send(session, row.owner_id, told, order_id=row.id)
            return await order_of(session, row)


def order_name(service: str, client: str) -> str:
    return f"{service} — {client}"[:200]
