"""Orders whose jobs were given up: the owner is told, and the Retry button queues those jobs again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.domain import utcnow
from bot.errors import NotAllowed, StaleAction, UserError
from bot.i18n import Text
from bot.jobs.outbox import CARDS, SEND, Outbox
from bot.jobs.worker import Job
from bot.services.meetings import SYNC
from storage import repos

# Jobs an order needs (its messages, its cards, its meeting); a given-up reminder has had its time.
RECOVERABLE = (SEND, CARDS, SYNC)
WHAT = {SEND: texts.GAVE_UP_SEND, CARDS: texts.GAVE_UP_CARDS, SYNC: texts.GAVE_UP_MEETING}


class Recovery:
    """Tells the owner when a job of an order is given up, and runs the order's given-up jobs again."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> None:
        self._sessions = sessions
        self._outbox = outbox

    async def gave_up(self, job: Job, error: str) -> None:
        """The worker gave `job` up: tell the owner, once per order until retried, with a Retry button."""
        if job.order_id is None or job.kind not in RECOVERABLE:
            return
        async with self._sessions.begin() as session:
            row = await repos.get_order(session, job.order_id)
            if row is None:
                return
            text = Text(texts.GAVE_UP, {"id": row.id, "what": Text(WHAT[job.kind])})
            await self._outbox.notice(session, row.owner_id, f"gave-up:{row.id}", text, retry_order=row.id)
            if job.payload.get("chat_id") != row.owner_id:
                # The owner's card shows Retry too; not when the owner's own chat is what failed.
                await self._outbox.refresh_card(session, row.id, row.owner_id)

    async def retry(self, user_id: int, order_id: int | None) -> int:
        """Queue the order's given-up jobs again (the owner's Retry button); the order's id."""
        async with self._sessions.begin() as session:
            row = await repos.get_order(session, order_id) if order_id is not None else None
            if row is None:
                raise StaleAction(texts.STALE_BUTTON)
            if row.owner_id != user_id:
                raise NotAllowed(texts.NOT_YOURS)
            if not await repos.retry_given_up(session, row.id, RECOVERABLE, utcnow()):
                raise UserError(texts.NOTHING_TO_RETRY, id=row.id)
            await self._outbox.refresh_card(session, row.id, row.owner_id)  # without its Retry button now
        self._outbox.wake()
        return row.id
