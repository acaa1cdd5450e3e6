"""Conversation drafts: the step each user is at, kept in the database so a restart loses nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import utcnow
from storage import repos
from storage.direct import Transaction


@dataclass(frozen=True)
class Draft:
    user_id: int
    flow: str
    step: str
    nonce: str
    data: dict[str, Any] = field(default_factory=dict)


async def read_draft(session: Transaction, user_id: int) -> Draft | None:
    """The user's draft, read in the caller's session."""
    row = await repos.draft_of(session, user_id)
    return Draft(user_id, row.flow, row.step, row.nonce, dict(row.data)) if row else None


async def put_draft(session: Transaction, user_id: int, flow: str, step: str, **data: Any) -> Draft:
    """`Drafts.put` in the caller's transaction (a service that also reads or checks something in it)."""
    nonce = secrets.token_hex(4)
    await repos.put_draft(session, user_id, flow, step, nonce, data, utcnow())
    return Draft(user_id, flow, step, nonce, data)


class Drafts:
    """One draft per user; starting a new flow replaces the old one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, user_id: int) -> Draft | None:
        async with self._sessions() as session:
            return await read_draft(session, user_id)

    async def put(self, user_id: int, flow: str, step: str, **data: Any) -> Draft:
        """Start or advance a flow; a fresh nonce makes buttons of earlier steps stale."""
        async with self._sessions.begin() as session:
            return await put_draft(session, user_id, flow, step, **data)

    async def drop(self, user_id: int) -> bool:
        async with self._sessions.begin() as session:
            return await repos.drop_draft(session, user_id)
