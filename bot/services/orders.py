"""What owners and customers do with placed orders: view, reschedule, rename, change duration,
confirm, mark done, cancel, reject, and ask for a Zoom meeting. Only the parties act; no order is
ever deleted, and no Zoom meeting is ever deleted."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n, slots, texts
from bot.domain import (
    ACTIVE_STATUSES,
    ConnectionStatus,
    MeetingState,
    Order,
    OrderAction,
    OrderStatus,
    utcnow,
)
from bot.errors import NotAllowed, StaleAction, UserError
from bot.jobs.outbox import Outbox
from bot.metrics import Metrics
from bot.services.convert import order_of, order_value
from bot.services.meetings import EDIT_SETTLE, queue_sync
from bot.services.order_changes import announce
from bot.services.ordering import check_slot
from bot.services.recovery import RECOVERABLE
from bot.services.reminders import plan_reminders, stop_reminders
from bot.services.services import valid_duration, valid_name
from storage import repos
from storage.direct import Transaction
from storage.models import OrderRow, ServiceRow


@dataclass(frozen=True)
class OrderCard:
    """An order as one party's card shows it."""

    order: Order
    role: str
    can_create_meeting: bool = False
    can_retry: bool = False  # a job of the order gave up; the owner's card offers Retry
    bot_username: str = ""


@dataclass(frozen=True)
class CardShown:
    """A card a handler has just edited, and a fingerprint of what it shows now."""

    chat_id: int
    message_id: int
    content: str
    seen: str | None = None  # what the card's record said before this edit (None: the order's new card)


@dataclass(frozen=True)
class CardRead:
    """A card as read to be sent: what it shows, the language of the chat it goes to (English for a chat the
    bot has never met), and when the order was placed and last changed, and the version its meeting has."""

    card: OrderCard
    language: str
    created_at: datetime
    updated_at: datetime
    synced_version: int


ORDER_NAME_MAX = 200
PAGE_SIZE = 5

CUSTOMER_ACTIONS = {OrderAction.RESCHEDULE, OrderAction.RENAME, OrderAction.DURATION, OrderAction.CANCEL}
OWNER_ACTIONS = {
    OrderAction.RESCHEDULE,
    OrderAction.RENAME,
    OrderAction.DURATION,
    OrderAction.REJECT,
    OrderAction.CONFIRM,
    OrderAction.DONE,
    OrderAction.CREATE_MEETING,
    OrderAction.RESTORE_MEETING,
}
FIELD_ACTIONS = {
    OrderAction.RESCHEDULE,
    OrderAction.RENAME,
    OrderAction.DURATION,
    OrderAction.RESTORE_MEETING,
}
STATUS_CHANGES = {
    OrderAction.CANCEL: (OrderStatus.CANCELLED, texts.TOLD_CANCELLED),
    OrderAction.REJECT: (OrderStatus.REJECTED, texts.TOLD_REJECTED),
    OrderAction.CONFIRM: (OrderStatus.CONFIRMED, texts.TOLD_CONFIRMED),
    OrderAction.DONE: (OrderStatus.DONE, texts.TOLD_DONE),
}

# Customers' changes that each cost the owner a Zoom write: counted against the edit limit.
LIMITED_ACTIONS = FIELD_ACTIONS & CUSTOMER_ACTIONS

# What each verb is called in bot_orders_total{event}.
ORDER_EVENTS = {
    OrderAction.CANCEL: "cancelled",
    OrderAction.REJECT: "rejected",
    OrderAction.CONFIRM: "confirmed",
    OrderAction.DONE: "done",
    OrderAction.RESCHEDULE: "rescheduled",
}


def role_of(row: OrderRow, user_id: int, verb: OrderAction | None = None) -> str:
    """The acting user's role for this order (and verb), or NotAllowed."""
    roles = []
    if row.owner_id == user_id:
        roles.append("owner")
    if row.customer_id == user_id:
        roles.append("customer")
    if not roles:
        raise NotAllowed(texts.NOT_YOURS)
    if verb is None:
        return roles[0]
    for role in roles:
        if verb in (OWNER_ACTIONS if role == "owner" else CUSTOMER_ACTIONS):
            return role
    raise NotAllowed(texts.NOT_YOURS)


@dataclass(frozen=True)
class EditLimit:
    """How many changes a customer may make to one owner's orders per window (the owner is never limited):
    one stranger can't use up the owner's daily Zoom writes with renames."""

    count: int = 10
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Applied:
    order: Order
    role: str
    message: i18n.Text | None


class Orders:
    """Order use cases after placement."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        bot_username: Callable[[], str] = str,
        metrics: Metrics | None = None,
        edit_limit: EditLimit | None = None,
        edit_settle: timedelta = EDIT_SETTLE,
    ) -> None:
        self._metrics = metrics
        self._edit_limit = edit_limit or EditLimit()
        self._edit_settle = edit_settle
        self._sessions = sessions
        self._outbox = outbox
        self._bot_username = bot_username  # for invite links on owners' cards; known once the bot started

    async def page(
        self, user_id: int, offset: int, service_id: int | None = None
    ) -> tuple[list[tuple[Order, str]], int]:
        """One page of the user's orders (as customer and as owner), newest start first."""
        async with self._sessions() as session:
            total = await repos.count_orders_of_user(session, user_id, service_id)
            rows = await repos.orders_of_user(session, user_id, PAGE_SIZE, max(0, offset), service_id)
            return [(await order_of(session, row), role_of(row, user_id)) for row in rows], total

    async def order_for(
        self, user_id: int, order_id: int | None, verb: OrderAction | None = None
    ) -> tuple[Order, str]:
        async with self._sessions() as session:
            row = await repos.get_order(session, order_id) if order_id is not None else None
            if row is None:
                raise StaleAction(texts.STALE_BUTTON)
            role = role_of(row, user_id, verb)
            if verb is not None and row.status in ACTIVE_STATUSES:
                await check_changes_window(session, row, role, verb)
                await self._check_edit_limit(session, row, role, verb)  # before the customer types
            return await order_of(session, row), role

    async def active_order_for(
        self, user_id: int, order_id: int | None, verb: OrderAction
    ) -> tuple[Order, str]:
        order, role = await self.order_for(user_id, order_id, verb)
        if not order.is_active:
            raise UserError(
                texts.ORDER_CLOSED, id=order.id, status=i18n.Text(texts.STATUS_WORDS[order.status.value])
            )
        return order, role

    async def card(self, order_id: int, role: str) -> OrderCard | None:
        """What the order's card in `role`'s chat shows (rendered by bot.telegram.views.card_view)."""
        async with self._sessions() as session:
            read = await self.card_in(session, order_id, role)
            return read.card if read is not None else None

    async def card_in(
        self, session: Transaction, order_id: int, role: str, reader_id: int | None = None
    ) -> CardRead | None:
        """`card`, read in the caller's session in one statement, with the language of `reader_id` (the
        chat the card goes to) and the order's times the sender looks at."""
        owner = role == "owner"
        row = await repos.order_card_parts(session, order_id, reader_id, RECOVERABLE if owner else None)
        if row is None:
            return None
        can_create = can_retry = False
        if owner:
            can_retry = row.given_up > 0
            can_create = bool(row.zoom_enabled and row.connection_status == ConnectionStatus.ACTIVE)
        card = OrderCard(
            order_value(row),
            role,
            can_create_meeting=can_create,
            can_retry=can_retry,
            bot_username=self._bot_username(),
        )
        language = i18n.language_for(row.language, row.language_code)
        return CardRead(card, language, row.created_at, row.updated_at, row.synced_version)

    async def refresh_cards_now(
        self,
        order_id: int,
        shown: CardShown | None = None,
        *,
        chat_id: int | None = None,
        take: bool = False,
    ) -> CardRead | None:
        """After a handler rendered a card itself: `shown` says which card and what it shows now (a
        fingerprint); that chat's card is refreshed only if the order changed since the handler read it (see
        `Outbox.card_rendered`), or, with `take`, the change is returned for the handler to show (then it
        records that edit with this again). `chat_id` alone: the handler left that chat's card to its
        refresh, now."""
        async with self._sessions.begin() as session:
            if shown is None:
                if chat_id is not None:
                    await self._outbox.card_rendered(session, order_id, chat_id, run=True)
                else:
                    await self._outbox.refresh_cards(session, order_id)
                return None
            # The handler overwrote the card without knowing what it showed: its record holds only if nobody
            # recorded another content meanwhile (the card was recorded with none when the order was placed;
            # its refresh waits for this record, unless the handler took longer than the refresh's hold).
            await repos.card_shown(
                session, order_id, shown.chat_id, shown.message_id, shown.seen, shown.content
            )
            if await self._outbox.card_rendered(session, order_id, shown.chat_id, run=False, take=take):
                # Read in this transaction: a change committed after it marks the held refresh again.
                return await self.card_in(session, order_id, "customer", shown.chat_id)
            return None

    async def apply(
        self,
        user_id: int,
        order_id: int | None,
        verb: OrderAction,
        version: int | None,
        value: str | int | datetime | None,
    ) -> Applied:
        """Apply a confirmed action if the order is still as the user saw it."""
        async with self._sessions.begin() as session:
            seen = await repos.get_order(session, order_id) if order_id is not None else None
            if seen is None:
                raise StaleAction(texts.STALE_BUTTON)
            # Lock first, then read what is checked: two actions at once on one order take turns, and the
            # second sees the first's version (on SQLite the owner lock is the database's write lock).
            await repos.lock_owner(session, seen.owner_id)
            row = await repos.get_order(session, seen.id, lock=True, fresh=True)
            if row is None:
                raise StaleAction(texts.STALE_BUTTON)
            role = role_of(row, user_id, verb)
            if row.status not in ACTIVE_STATUSES:
                raise UserError(
                    texts.ORDER_CLOSED, id=row.id, status=i18n.Text(texts.STATUS_WORDS[row.status])
                )
            if version != row.version:
                raise StaleAction(texts.ORDER_CHANGED_MEANWHILE, id=row.id)
            await check_changes_window(session, row, role, verb)
            # Counted under the owner's lock (taken above): concurrent edits of one owner's orders take turns.
            if await self._check_edit_limit(session, row, role, verb):
                await repos.record_customer_edit(session, row.owner_id, row.customer_id, row.id, utcnow())
            message: i18n.Text | None
            if verb in STATUS_CHANGES:
                message = await self._set_status(session, row, verb)
            elif verb == OrderAction.CREATE_MEETING:
                message = await self._want_meeting(session, row)
            else:
                message = await self._change_fields(session, row, verb, value, role)
            row.updated_at = utcnow()
            applied = Applied(await order_of(session, row), role, message)
        if self._metrics is not None and verb in ORDER_EVENTS:
            self._metrics.order(ORDER_EVENTS[verb])
        return applied

    async def _check_edit_limit(
        self, session: AsyncSession, row: OrderRow, role: str, verb: OrderAction
    ) -> bool:
        """Whether this is a customer's change that counts; refused when the customer made too many."""
        if role != "customer" or verb not in LIMITED_ACTIONS:
            return False
        limit, now = self._edit_limit, utcnow()
        edits = await repos.customer_edits_since(session, row.owner_id, row.customer_id, now - limit.window)
        if len(edits) >= limit.count:
            # Allowed again once enough of the counted edits have left the window.
            free_at = edits[len(edits) - limit.count] + limit.window
            minutes = max(1, math.ceil((free_at - now).total_seconds() / 60))
            raise NotAllowed(texts.TOO_MANY_CHANGES, id=row.id, wait=i18n.Minutes(minutes))
        return True

    async def _set_status(self, session: AsyncSession, row: OrderRow, verb: OrderAction) -> i18n.Text:
        status, told = STATUS_CHANGES[verb]
        row.status = status.value
        row.version += 1
        kept = status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) and row.join_url
        text = i18n.Text(
            told, {"id": row.id, "name": escape(row.name), "start": i18n.When(row.start_at, row.timezone)}
        )
        if kept:
            text = i18n.Text(texts.TOLD_WITH_NOTE, {"told": text, "note": i18n.Text(texts.MEETING_KEPT)})
        if status not in ACTIVE_STATUSES:
            await stop_reminders(session, row.id)
        other = row.owner_id if verb == OrderAction.CANCEL else row.customer_id
        await self._outbox.send(session, other, text, order_id=row.id)
        await self._outbox.refresh_cards(session, row.id)
        return text

    async def _want_meeting(self, session: AsyncSession, row: OrderRow) -> i18n.Text:
        if row.join_url and row.meeting_state in (MeetingState.READY, MeetingState.PENDING):
            return i18n.Text(texts.MEETING_READY)
        row.wants_meeting = True
        row.meeting_id, row.join_url = None, None
        row.meeting_state, row.meeting_error = MeetingState.PENDING, None
        row.version += 1
        await queue_sync(session, self._outbox, row)
        await self._outbox.refresh_cards(session, row.id)
        return i18n.Text(texts.MEETING_PENDING)

    async def _change_fields(
        self,
        session: AsyncSession,
        row: OrderRow,
        verb: OrderAction,
        value: str | int | datetime | None,
        role: str,
    ) -> i18n.Text | None:
        if verb == OrderAction.RESCHEDULE and isinstance(value, datetime):
            await check_slot(
                session,
                row.service_id,
                value,
                by_owner=role == "owner",
                duration_min=row.duration_min,
                exclude_order=row.id,
            )
            row.start_at, row.end_at = value, value + timedelta(minutes=row.duration_min)
            await plan_reminders(session, self._outbox, row)
        elif verb == OrderAction.RENAME and isinstance(value, str):
            row.name = valid_name(value, ORDER_NAME_MAX)
        elif verb == OrderAction.DURATION and value is not None and not isinstance(value, datetime):
            minutes = valid_duration(value)
            end = row.start_at + timedelta(minutes=minutes)
            if await self._clashes(session, row, minutes):
                raise UserError(texts.DURATION_CLASH, id=row.id, new=i18n.Minutes(minutes))
            row.duration_min, row.end_at = minutes, end
        elif verb != OrderAction.RESTORE_MEETING:
            raise StaleAction(texts.STALE_BUTTON)
        row.version += 1
        # A meeting the owner deleted in Zoom is not brought back by an edit; "Create meeting" does that.
        gone = row.meeting_state in (MeetingState.NONE, MeetingState.DELETED_IN_ZOOM)
        if row.wants_meeting and (row.meeting_id is not None or not gone):
            row.meeting_state = MeetingState.PENDING
            settle = self._edit_settle if row.meeting_id else timedelta(0)
            await queue_sync(session, self._outbox, row, settle)
            await self._outbox.refresh_cards(session, row.id)
        else:
            await announce(session, self._outbox, row, meeting=False)
        return i18n.Text(texts.MEETING_UPDATING) if row.meeting_state == MeetingState.PENDING else None

    async def _clashes(self, session: AsyncSession, row: OrderRow, minutes: int) -> bool:
        """Whether the order, `minutes` long plus its service's buffer, would overlap another booking."""
        service = await session.get(ServiceRow, row.service_id)
        buffer = service.buffer_min if service else 0
        end = row.start_at + timedelta(minutes=minutes + buffer)
        blocked = await repos.blocked_intervals(session, row.owner_id, row.start_at, end, row.id)
        return slots.overlaps(row.start_at, end, blocked)


async def check_changes_window(session: AsyncSession, row: OrderRow, role: str, verb: OrderAction) -> None:
    """Customers may change or cancel only until the service's Changes window; owners always may."""
    if role != "customer" or verb not in CUSTOMER_ACTIONS:
        return
    service = await session.get(ServiceRow, row.service_id)
    if service is None or service.changes_min <= 0:
        return
    if utcnow() > row.start_at - timedelta(minutes=service.changes_min):
        raise NotAllowed(texts.CHANGES_CLOSED, id=row.id, count=service.changes_min // 60)
