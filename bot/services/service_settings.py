"""A service's Settings: duration, step, buffer, notice, horizon, the customers' changes window, reminders."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import booking_rules, texts
from bot.domain import Service
from bot.errors import NotAllowed, StaleAction, UserError
from bot.services.services import service_of, valid_duration
from storage.models import ServiceRow

DEFAULT_REMINDERS = [1440, 60]
# The values each setting may take, as offered on its buttons (minutes; days for the horizon).
CHOICES: dict[str, tuple[int, ...]] = {
    "st": (5, 10, 15, 20, 30, 60),
    "bu": (0, 5, 10, 15, 30),
    "no": (0, 60, 120, 720, 1440),
    "ho": (7, 14, 30, 60, 90),
    "ch": (0, 60, 720, 1440),
}
COLUMNS = {
    "st": "step_min",
    "bu": "buffer_min",
    "no": "notice_min",
    "ho": "horizon_days",
    "ch": "changes_min",
}


class ServiceSettings:
    """Reads and changes one service's settings; only its owner may."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, owner_id: int, service_id: int | None) -> Service:
        async with self._sessions() as session:
            return service_of(await _owned(session, owner_id, service_id))

    async def choose(self, owner_id: int, service_id: int | None, key: str, value: str) -> Service:
        """A setting's button: the value must be one of its choices."""
        allowed = CHOICES.get(key, ())
        number = int(value) if value.isascii() and value.isdecimal() and len(value) <= 5 else -1
        if number not in allowed:
            raise UserError(texts.SETTING_BAD)
        async with self._sessions.begin() as session:
            row = await _owned(session, owner_id, service_id)
            setattr(row, COLUMNS[key], number)
            return service_of(row)

    async def set_duration(self, owner_id: int, service_id: int | None, value: str) -> Service:
        minutes = valid_duration(value)
        async with self._sessions.begin() as session:
            row = await _owned(session, owner_id, service_id)
            row.duration_min = minutes
            return service_of(row)

    async def set_reminders(self, owner_id: int, service_id: int | None, text: str) -> Service:
        """Typed offsets such as `24h 1h 15m`, or `off`; `default` puts back 24 h and 1 h."""
        offsets = list(DEFAULT_REMINDERS) if text == "default" else booking_rules.parse_reminders(text)
        async with self._sessions.begin() as session:
            row = await _owned(session, owner_id, service_id)
            row.reminder_minutes = offsets
            return service_of(row)


async def _owned(session: AsyncSession, owner_id: int, service_id: int | None) -> ServiceRow:
    row = await session.get(ServiceRow, service_id) if service_id is not None else None
    if row is None:
        raise StaleAction(texts.STALE_BUTTON)
    if row.owner_id != owner_id:
        raise NotAllowed(texts.NOT_YOURS)
    return row
