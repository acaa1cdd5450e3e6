"""Ordering a slot: days, free times, the order name, the summary and the confirmation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n, slots, texts
from bot.domain import ConnectionStatus, MeetingState, Order, Service, utcnow
from bot.errors import SlotTaken, StaleAction, UserError
from bot.jobs.outbox import Outbox
from bot.metrics import Metrics
from bot.services.availability import DaysOffRead, days_off_window, rules_for, week_of
from bot.services.convert import order_of
from bot.services.drafts import Draft, Drafts, put_draft, read_draft
from bot.services.meetings import queue_sync
from bot.services.order_changes import announced_values
from bot.services.persons import Person, keep_person
from bot.services.reminders import plan_reminders
from bot.services.services import service_of, valid_name
from bot.slots import parse_local
from storage import repos
from storage.direct import Transaction, direct
from storage.models import OrderRow, ServiceRow

ORDER_NAME_MAX = 200
FLOW = "order"


@dataclass(frozen=True)
class Summary:
    service: Service
    start: datetime
    name: str
    with_meeting: bool
    nonce: str


@dataclass(frozen=True)
class Bookable:
    """A service as the ordering steps read it, in one statement: with its owner's weekly hours, the
    status of the owner's Zoom connection (None without one) and the owner's days off."""

    row: ServiceRow
    owners_week: slots.Week
    zoom_status: str | None
    owners_days_off: DaysOffRead

    def with_meeting(self) -> bool:
        """Whether an order placed now would get a Zoom meeting."""
        return bool(self.row.zoom_enabled) and self.zoom_status not in (None, ConnectionStatus.DISCONNECTED)


async def bookable(
    session: Transaction, *, code: str | None = None, service_id: int | None = None
) -> Bookable:
    """The service by its public code (a UserError when there is none) or by its id (a StaleAction)."""
    window = days_off_window(utcnow())
    if code is not None or service_id is None:
        valid = bool(code) and len(code or "") <= 32
        found = await repos.service_for_booking(session, window, code=code) if valid else None
        if found is None:
            raise UserError(texts.UNKNOWN_SERVICE)
    else:
        found = await repos.service_for_booking(session, window, service_id=service_id)
        if found is None:
            raise StaleAction(texts.DRAFT_GONE)
    row, hours, status, days_off = found
    return Bookable(row, week_of(hours), status, DaysOffRead(window[0], window[1], frozenset(days_off)))


async def _rules(
    session: Transaction, row: ServiceRow, read: Bookable | None, *, by_owner: bool, duration_min: int | None
) -> slots.Rules:
    """The service's rules now, with the owner's week and days off from `read` when the caller read them."""
    return await rules_for(
        session,
        row,
        by_owner=by_owner,
        duration_min=duration_min,
        owners_week=read.owners_week if read is not None else None,
        owners_days_off=read.owners_days_off if read is not None else None,
    )


async def check_slot(
    session: Transaction,
    service_id: int,
    start: datetime,
    *,
    by_owner: bool,
    duration_min: int | None = None,
    exclude_order: int | None = None,
    read: Bookable | None = None,
) -> None:
    """Refuse a start that the rules do not allow now or that is taken, saying which it is (`read`: the
    service as the caller read it in this transaction, with its owner's weekly hours and days off; a direct
    transaction needs it)."""
    if read is not None and read.row.id == service_id:
        row: ServiceRow | None = read.row  # what the session would find by key: the entity `read` holds
    elif isinstance(session, AsyncSession):
        row = await session.get(ServiceRow, service_id)
    else:
        raise TypeError("the service must come read with its check in a direct transaction")
    if row is None:
        raise StaleAction(texts.DRAFT_GONE)
    rules = await _rules(session, row, read, by_owner=by_owner, duration_min=duration_min)
    local = start.astimezone(ZoneInfo(rules.timezone))
    if local.date() in rules.days_off:
        raise SlotTaken(texts.SLOT_DAY_OFF, day=i18n.Day(local.date()))
    if not slots.is_offered(start, rules, utcnow()):
        raise SlotTaken(texts.SLOT_NOT_OFFERED)
    end = start + timedelta(minutes=rules.duration_min + rules.buffer_min)
    blocked = await repos.blocked_intervals(session, row.owner_id, start, end, exclude_order)
    if not slots.is_free(start, rules, blocked):
        raise SlotTaken(texts.SLOT_TAKEN, start=i18n.When(start, rules.timezone))


async def insert_order(
    session: AsyncSession,
    outbox: Outbox,
    service: ServiceRow,
    customer_id: int,
    name: str,
    start: datetime,
    end: datetime,
    *,
    client_name: str | None = None,
    invite_code: str | None = None,
    read: Bookable | None = None,
) -> OrderRow:
    """Add the order and, when Zoom is On and connected, its meeting job (`read`: the service as the caller
    read it in this transaction, with its owner's Zoom status, which is then not read again)."""
    now = utcnow()
    if read is not None:
        status = read.zoom_status
    else:
        connection = await repos.connection_of(session, service.owner_id)
        status = connection.status if connection is not None else None
    wants = service.zoom_enabled and status not in (None, ConnectionStatus.DISCONNECTED)
    state = MeetingState.NONE
    if wants:
        state = MeetingState.PENDING if status == ConnectionStatus.ACTIVE else MeetingState.WAITING_RECONNECT
    row = OrderRow(
        service_id=service.id,
        owner_id=service.owner_id,
        customer_id=customer_id,
        name=name,
        start_at=start,
        end_at=end,
        duration_min=service.duration_min,
        timezone=service.timezone,
        status="new",
        version=1,
        wants_meeting=wants,
        meeting_state=state,
        synced_version=0,
        client_name=client_name,
        invite_code=invite_code,
        created_at=now,
        updated_at=now,
    )
    row.announced = announced_values(row)  # set before the INSERT, which then writes it (no UPDATE after)
    await repos.add_order(session, row)
    if wants:
        await queue_sync(session, outbox, row)
    await plan_reminders(session, outbox, row, placed=True)
    return row


def default_order_name(service: Service, customer: Person) -> str:
    return f"{service.name} — {customer.first_name}"[:ORDER_NAME_MAX]


class Ordering:
    """The customer's side of ordering."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        drafts: Drafts,
        outbox: Outbox,
        max_active_orders: int = 3,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._drafts = drafts
        self._outbox = outbox
        self._metrics = metrics
        self._max_active = max_active_orders  # per customer and owner; the owner is never limited

    async def service(self, code: str | None) -> Service:
        async with self._sessions() as session:
            return service_of(await self._service_row(session, code))

    @staticmethod
    async def _service_row(session: Transaction, code: str | None) -> ServiceRow:
        row = await repos.service_by_code(session, code or "") if code and len(code) <= 32 else None
        if row is None:
            raise UserError(texts.UNKNOWN_SERVICE)
        return row

    async def free_days(
        self,
        service: Service,
        exclude_order: int | None = None,
        *,
        by_owner: bool = False,
        duration_min: int | None = None,
    ) -> list[date]:
        async with self._sessions() as session:
            row = await self._row(session, service.id)
            return await self._free_days(session, row, exclude_order, by_owner, duration_min)

    async def _free_days(
        self,
        session: Transaction,
        row: ServiceRow,
        exclude_order: int | None,
        by_owner: bool,
        duration_min: int | None,
        read: Bookable | None = None,
    ) -> list[date]:
        now = utcnow()
        rules = await _rules(session, row, read, by_owner=by_owner, duration_min=duration_min)
        days = slots.bookable_days(now, rules)
        if not days:
            return []
        busy = await self._blocked(session, row.owner_id, days[0], days[-1], exclude_order)
        return slots.free_days(days, rules, busy, now)

    async def free_times(
        self,
        service: Service,
        day: date | None,
        duration_min: int | None = None,
        exclude_order: int | None = None,
        *,
        by_owner: bool = False,
    ) -> list[datetime]:
        async with self._sessions() as session:
            row = await self._row(session, service.id)
            return await self._free_times(session, row, day, duration_min, exclude_order, by_owner)

    async def _free_times(
        self,
        session: Transaction,
        row: ServiceRow,
        day: date | None,
        duration_min: int | None,
        exclude_order: int | None,
        by_owner: bool,
        read: Bookable | None = None,
    ) -> list[datetime]:
        now = utcnow()
        rules = await _rules(session, row, read, by_owner=by_owner, duration_min=duration_min)
        if day is None or not slots.is_bookable(day, rules, now):
            raise StaleAction(texts.STALE_BUTTON)
        busy = await self._blocked(session, row.owner_id, day, day, exclude_order)
        return slots.free_starts(day, rules, busy, now)

    async def open_days(self, customer: Person, code: str | None) -> tuple[Service, list[date]]:
        """`open` and `free_days` in one transaction: the service by its code, its free days, the draft."""
        async with direct(self._sessions) as session:
            found = await bookable(session, code=code)
            days = await self._free_days(session, found.row, None, False, None, found)
            await put_draft(session, customer.id, FLOW, "date", service_id=found.row.id)
            return service_of(found.row), days

    async def times_of(self, code: str | None, day: date | None) -> tuple[Service, list[datetime]]:
        """`service` and `free_times` in one transaction: the service by its code and its free starts that
        day."""
        async with direct(self._sessions) as session:
            found = await bookable(session, code=code)
            starts = await self._free_times(session, found.row, day, None, None, False, found)
            return service_of(found.row), starts

    @staticmethod
    async def _row(session: AsyncSession, service_id: int) -> ServiceRow:
        row = await session.get(ServiceRow, service_id)
        if row is None:
            raise StaleAction(texts.STALE_BUTTON)
        return row

    @staticmethod
    async def _blocked(
        session: Transaction, owner_id: int, first: date, last: date, exclude_order: int | None
    ) -> list[tuple[datetime, datetime]]:
        # Two days of margin either side cover every time zone's view of those dates.
        start = datetime.combine(first - timedelta(days=2), datetime.min.time(), UTC)
        end = datetime.combine(last + timedelta(days=2), datetime.min.time(), UTC)
        return await repos.blocked_intervals(session, owner_id, start, end, exclude_order)

    async def check_start(self, order: Order, start: datetime, *, by_owner: bool) -> None:
        """Refuse a new start for the order that its service's rules do not offer now."""
        async with self._sessions() as session:
            await check_slot(
                session,
                order.service_id,
                start,
                by_owner=by_owner,
                duration_min=order.duration_min,
                exclude_order=order.id,
            )

    async def open(self, customer: Person, code: str | None) -> Service:
        """The service a link points to; the customer's draft starts at its date step (one transaction)."""
        async with direct(self._sessions) as session:
            service = service_of(await self._service_row(session, code))
            await put_draft(session, customer.id, FLOW, "date", service_id=service.id)
        return service

    async def pick_time(self, customer: Person, code: str | None, value: str | None) -> tuple[Service, Draft]:
        """Hold the chosen start in the draft (with the default order name) and return that draft."""
        async with direct(self._sessions) as session:
            found = await bookable(session, code=code)  # check_slot takes the service from it
            service = service_of(found.row)
            start = parse_local(value, service.timezone)
            if start is None:
                raise UserError(texts.SLOT_NOT_OFFERED)
            await check_slot(session, service.id, start, by_owner=False, read=found)
            default = default_order_name(service, customer)
            draft = await put_draft(
                session,
                customer.id,
                FLOW,
                "name",
                service_id=service.id,
                start=start.isoformat(),
                default=default,
            )
        return service, draft

    async def name(self, customer: Person, draft: Draft, text: str | None) -> Summary:
        """Set the order name (None keeps the default) and return the summary to confirm."""
        async with self._sessions.begin() as session:
            return await self._name(session, customer, draft, text)

    async def keep_default_name(self, customer: Person, nonce: str | None) -> Summary:
        """The Skip button on the name step: the default order name, and the summary to confirm."""
        async with direct(self._sessions) as session:
            draft = await read_draft(session, customer.id)
            if draft is None or draft.nonce != nonce:
                raise UserError(texts.DRAFT_GONE)
            return await self._name(session, customer, draft, None)

    async def _name(self, session: Transaction, customer: Person, draft: Draft, text: str | None) -> Summary:
        if draft.flow != FLOW or draft.step != "name":
            raise StaleAction(texts.DRAFT_GONE)
        chosen = valid_name(text, ORDER_NAME_MAX) if text is not None else str(draft.data["default"])
        found = await bookable(session, service_id=int(draft.data["service_id"]))
        with_meeting = found.with_meeting()
        service = service_of(found.row)
        updated = await put_draft(session, customer.id, FLOW, "summary", **{**draft.data, "name": chosen})
        return Summary(
            service=service,
            start=datetime.fromisoformat(str(updated.data["start"])),
            name=chosen,
            with_meeting=with_meeting,
            nonce=updated.nonce,
        )

    async def confirm(self, customer: Person, nonce: str | None, card_message_id: int) -> Order:
        """Place the order: the order, its meeting job and the owner's notice in one transaction."""
        name = customer.first_name[:256]
        async with self._sessions.begin() as session:
            draft = await read_draft(session, customer.id)
            if draft is None or draft.flow != FLOW or draft.step != "summary" or draft.nonce != nonce:
                placed = await self._placed_from(session, customer, card_message_id)
                if placed is not None:
                    return placed  # the same Confirm again (a replay after a crash, or a double tap)
                raise StaleAction(texts.DRAFT_GONE)
            found = await bookable(session, service_id=int(draft.data["service_id"]))
            service = found.row
            await repos.lock_owner(session, service.owner_id)
            start = datetime.fromisoformat(str(draft.data["start"]))
            end = start + timedelta(minutes=service.duration_min)
            await check_slot(session, service.id, start, by_owner=False, read=found)
            if customer.id != service.owner_id:
                active = await repos.count_active_orders(session, customer.id, service.owner_id)
                if active >= self._max_active:
                    raise UserError(texts.TOO_MANY_ORDERS)
            await keep_person(session, customer)
            row = await insert_order(
                session, self._outbox, service, customer.id, str(draft.data["name"]), start, end, read=found
            )
            await repos.add_order_message(session, row.id, customer.id, card_message_id, "customer")
            # The owner's card is rendered when it is sent. The customer's is rendered by the handler once
            # this commits; the refresh makes it appear even if this process dies before that.
            await self._outbox.send_card(session, row.id, service.owner_id, "owner")
            await self._outbox.refresh_card(session, row.id, customer.id, fallback=True)
            await repos.drop_draft(session, customer.id)
            placed = await order_of(session, row, customer_name=name)
        if self._metrics is not None:
            self._metrics.order("placed")
        return placed

    @staticmethod
    async def _placed_from(session: AsyncSession, customer: Person, card_message_id: int) -> Order | None:
        row = await repos.order_by_card(session, customer.id, card_message_id)
        if row is None or row.customer_id != customer.id:
            return None
        return await order_of(session, row)

    async def summary_text(self, summary: Summary) -> str:
        return i18n.t(
            texts.SUMMARY,
            service=escape(summary.service.name),
            name=escape(summary.name),
            start=i18n.when(summary.start, summary.service.timezone),
            duration=i18n.minutes(summary.service.duration_min),
            zoom=i18n.t(texts.SUMMARY_ZOOM) if summary.with_meeting else "",
        ).rstrip()
