"""Telegram messages to send later, written as jobs in the caller's transaction (sent by the worker)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.domain import MeetingState, utcnow
from bot.i18n import Text
from storage import repos
from storage.models import JobRow, OrderRow

SEND = "send"
CARDS = "cards"
MEETING_WAIT = "waiting for the Zoom meeting"


_WAKE_ON_COMMIT = "outbox_wake_on_commit"  # session.info: {outbox: job kinds} to wake on commit


# One listener for every session: a listener per session would build each session its own event dispatch.
@event.listens_for(Session, "after_commit")
def _wake_committed(session: Session) -> None:
    for outbox, kinds in session.info.pop(_WAKE_ON_COMMIT, {}).items():
        outbox.wake_kinds(kinds)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_WAKE_ON_COMMIT, None)


def card_key(order_id: int, chat_id: int, role: str) -> str:
    """The job that sends the order's card to a chat (one per order, chat and role)."""
    return f"card:{order_id}:{chat_id}:{role}"


def refresh_key(order_id: int, chat_id: int) -> str:
    """The job that keeps the order's card in a chat current."""
    return f"cards:{order_id}:{chat_id}"


class Outbox:
    """Queues messages and card refreshes; `wake()` tells the worker there is work.

    `reminder_minute` is how long one minute of a reminder offset lasts: a minute, except in tests.
    `card_fallback`: how long a card's refresh waits for the handler that renders that card itself.
    """

    def __init__(
        self,
        reminder_minute: timedelta = timedelta(minutes=1),
        notice_interval: timedelta = timedelta(seconds=60),
        card_fallback: timedelta = timedelta(seconds=10),
        owner_settle: timedelta = timedelta(0),
    ) -> None:
        # One wake-up per set of job kinds a waiter runs (a worker lane); None: a waiter for any kind.
        self._events: dict[frozenset[str] | None, asyncio.Event] = {None: asyncio.Event()}
        self.reminder_minute = reminder_minute
        self._notice_interval = notice_interval
        self._card_fallback = card_fallback
        self._owner_settle = owner_settle

    def wake(self) -> None:
        """Wake every waiter (the kinds of the new work are unknown, or the worker stops)."""
        for waiting in self._events.values():
            waiting.set()

    def wake_kinds(self, kinds: Iterable[str]) -> None:
        """Wake the waiters that run any of `kinds` (and those waiting for any kind): a lane that runs
        none of them would look for work in vain."""
        wanted = set(kinds)
        for lane, waiting in self._events.items():
            if lane is None or not lane.isdisjoint(wanted):
                waiting.set()

    @property
    def wake_pending(self) -> bool:
        """Whether a wake-up is waiting for the worker."""
        return any(waiting.is_set() for waiting in self._events.values())

    def wake_on_commit(self, session: AsyncSession, kind: str) -> None:
        """Wake the worker's lane for `kind` once `session` commits: before that, the job it queued is
        invisible to a claim, and a worker woken too early finds nothing and sleeps until its next poll."""
        session.info.setdefault(_WAKE_ON_COMMIT, {}).setdefault(self, set()).add(kind)

    def listen(self, kinds: Iterable[str] | None = None) -> asyncio.Event:
        """The wake-up of a waiter for `kinds`, kept from now on (a wake-up before its first wait counts)."""
        return self._events.setdefault(frozenset(kinds) if kinds is not None else None, asyncio.Event())

    async def wait(self, seconds: float, kinds: Iterable[str] | None = None) -> None:
        """Wait up to `seconds` for a wake-up of any of `kinds` (None: of any kind)."""
        waiting = self.listen(kinds)
        try:
            await asyncio.wait_for(waiting.wait(), seconds)
        except TimeoutError:
            return
        finally:
            waiting.clear()

    async def send(
        self,
        session: AsyncSession,
        chat_id: int,
        text: Text,
        *,
        join_url: str | None = None,
        order_id: int | None = None,
        reconnect_button: bool = False,
    ) -> None:
        """Queue a message; it is rendered when sent, in the recipient's language (with a Join button
        for `join_url`)."""
        payload: dict[str, Any] = {"chat_id": chat_id, "message": text.to_json()}
        if join_url:
            payload["join_url"] = join_url
        if reconnect_button:
            payload["reconnect_button"] = True
        await repos.enqueue(
            session, SEND, f"send:{uuid.uuid4().hex}", utcnow(), order_id=order_id, payload=payload
        )
        self.wake_on_commit(session, SEND)

    async def notice(
        self, session: AsyncSession, chat_id: int, kind: str, text: Text, *, retry_order: int | None = None
    ) -> None:
        """A notice of which a chat needs only the latest: one not yet sent is replaced by this one, and
        one is sent at most every `notice_interval`, so repeating the cause builds no backlog.
        `retry_order`: with a Retry button for that order's given-up jobs."""
        now = utcnow()
        key = f"notice:{kind}:{chat_id}"
        previous = await repos.job_by_key(session, key)
        delay = timedelta(0)
        if previous is not None and previous.status == "pending" and _being_sent(previous, now):
            delay = self._notice_interval  # the one being sent now counts as sent
        elif previous is not None and previous.status == "pending":
            delay = max(timedelta(0), previous.run_at - now)
        elif previous is not None and previous.updated_at > now - self._notice_interval:
            delay = previous.updated_at + self._notice_interval - now
        payload: dict[str, Any] = {"chat_id": chat_id, "message": text.to_json()}
        if retry_order is not None:
            payload["retry_order"] = retry_order
        await repos.enqueue(session, SEND, key, now, payload=payload, delay=delay)
        self.wake_on_commit(session, SEND)

    async def send_card(self, session: AsyncSession, order_id: int, chat_id: int, role: str) -> None:
        """Send the order's card, rendered when it goes out; later refreshes edit it.

        A new order's owner card waits up to `owner_settle` for the meeting being created (see
        `Delivery.send`): it is queued for then, holding back its chat's later messages, and the meeting's
        arrival sends it at once (`wake_card`). It is not run in vain meanwhile."""
        payload = {"chat_id": chat_id, "card_role": role}
        key = card_key(order_id, chat_id, role)
        hold = await self._meeting_wait(session, order_id, role)
        if not hold:
            await repos.enqueue(session, SEND, key, utcnow(), order_id=order_id, payload=payload)
            self.wake_on_commit(session, SEND)
            return
        await repos.enqueue(
            session,
            SEND,
            key,
            utcnow(),
            order_id=order_id,
            payload=payload,
            delay=hold,
            held_for=MEETING_WAIT,
        )
        # Its lane looks for it when it is due, not at the next poll (as for a job retried at a known time).
        asyncio.get_running_loop().call_later(hold.total_seconds(), self.wake_kinds, (SEND,))

    async def _meeting_wait(self, session: AsyncSession, order_id: int, role: str) -> timedelta:
        """How long a card waits for the order's meeting: a new order's owner card, while it is created."""
        if role != "owner" or not self._owner_settle:
            return timedelta(0)
        order = await session.get(OrderRow, order_id)  # the order the caller has just added, in its session
        if order is None or order.meeting_state != MeetingState.PENDING:
            return timedelta(0)
        return timedelta(0) if order.join_url or order.synced_version else self._owner_settle

    async def wake_card(self, session: AsyncSession, order_id: int, chat_id: int, role: str) -> bool:
        """Send now the order's card to a chat if it waits (for the meeting being created, see
        `Delivery.send`); one being sent runs again, finds its card sent and brings it up to date. Whether
        there was one: then that chat's card needs no refresh."""
        woken = await repos.run_now(session, card_key(order_id, chat_id, role), utcnow())
        if woken:
            self.wake_on_commit(session, SEND)
        return woken

    async def refresh_cards(self, session: AsyncSession, order_id: int, *, skip: int | None = None) -> None:
        """Edit the order's cards, one job per chat: it runs after what that chat was sent before. `skip`:
        a chat whose card is brought up to date otherwise (see `wake_card`)."""
        order = await session.get(OrderRow, order_id)
        chats = {card.chat_id for card in await repos.cards_in_chat(session, order_id, None)}
        if order is not None:
            chats |= {order.owner_id, order.customer_id}
        chats.discard(skip)
        # One statement for every chat, each job as `refresh_card` queues it.
        jobs = [(refresh_key(order_id, chat), timedelta(0), {"chat_id": chat}) for chat in sorted(chats)]
        await repos.enqueue_many(session, CARDS, utcnow(), jobs, order_id=order_id)
        if jobs:
            self.wake_on_commit(session, CARDS)

    async def refresh_card(
        self, session: AsyncSession, order_id: int, chat_id: int, *, fallback: bool = False
    ) -> None:
        """Edit the order's card in one chat, after what that chat was sent before. With `fallback`, held
        until `card_fallback`: a handler is about to render the card itself, and the order's refreshes
        meanwhile wait for it (two writers of one card could cross on their way to Telegram, and the card
        would then be edited once more for sure); it ends the hold once it has recorded its render
        (`card_rendered`). The hold's end is for a handler that died first."""
        key = refresh_key(order_id, chat_id)
        payload = {"chat_id": chat_id}
        if fallback:
            await repos.enqueue(
                session,
                CARDS,
                key,
                utcnow(),
                order_id=order_id,
                payload=payload,
                delay=self._card_fallback,
                held_for=repos.RENDER_HOLD,
            )
            return  # found by its lane's regular look when the hold ends: a wake-up per order would cost more
        await repos.enqueue(session, CARDS, key, utcnow(), order_id=order_id, payload=payload)
        self.wake_on_commit(session, CARDS)

    async def card_rendered(
        self, session: AsyncSession, order_id: int, chat_id: int, *, run: bool, take: bool = False
    ) -> bool:
        """The handler for which the card's refresh was held (`refresh_card(fallback=True)`) has rendered the
        card and recorded what it shows: the refresh runs now if the order changed meanwhile, else it is done
        (the card shows the order as it is). With `run` the handler left the card to the refresh: it runs
        now. With `take`, a change meanwhile is the handler's to show (True): the refresh stays held until
        its next record. When the hold has run out meanwhile, a refresh is queued as any."""
        status = await repos.end_render_hold(
            session, refresh_key(order_id, chat_id), utcnow(), run=run, take=take
        )
        if status is None:
            await self.refresh_card(session, order_id, chat_id)
        elif status == "pending":
            self.wake_on_commit(session, CARDS)
        return status == "taken"


def _being_sent(job: JobRow, now: datetime) -> bool:
    return job.locked_until is not None and job.locked_until > now
