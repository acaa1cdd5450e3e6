"""Owners' bookable services: creating them, listing them, and the per-service Zoom switch."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.domain import ConnectionStatus, Service, utcnow
from bot.errors import NotAllowed, UserError
from bot.services.persons import Person, Persons
from bot.services.services import service_of
from bot.services.zoom_connections import ZoomConnections
from storage import repos
from storage.models import ServiceRow

SERVICE_NAME_MAX = 100
DURATION_MIN = 5
DURATION_MAX = 720


def printable(value: str) -> str:
    """The text without control characters (NUL cannot even be stored in PostgreSQL)."""
    return "".join(ch if ch.isprintable() else " " for ch in value)


def valid_name(value: str, limit: int) -> str:
    name = " ".join(printable(value).split())
    if not name:
        raise UserError(texts.NAME_EMPTY, max=limit)
    if len(name) > limit:
        raise UserError(texts.NAME_TOO_LONG, length=len(name), max=limit)
    return name


def valid_duration(value: str | int) -> int:
    text = str(value).strip().removesuffix("min").strip()
    if (
        not (text.isascii() and text.isdecimal())
        or len(text) > 4
        or not DURATION_MIN <= int(text) <= DURATION_MAX
    ):
        raise UserError(texts.DURATION_BAD, min=DURATION_MIN, max=DURATION_MAX)
    return int(text)


@dataclass(frozen=True)
class ZoomToggle:
    service: Service
    connect_url: str | None  # set when the owner must connect Zoom first


class Services:
    """Use cases of an owner's services."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], persons: Persons, connections: ZoomConnections
    ) -> None:
        self._sessions = sessions
        self._persons = persons
        self._connections = connections

    async def create(
        self, owner: Person, name: str, duration: str | int, source_update: int | None = None
    ) -> Service:
        """Create a service; the same `source_update` (a replayed Telegram update) returns the same one."""
        clean_name = valid_name(name, SERVICE_NAME_MAX)
        minutes = valid_duration(duration)
        timezone = await self._persons.timezone_of(owner.id)
        now = utcnow()
        async with self._sessions.begin() as session:
            if source_update is not None:
                existing = await repos.service_by_source_update(session, source_update)
                if existing is not None and existing.owner_id == owner.id:
                    return service_of(existing)
            await repos.upsert_user(session, owner.id, owner.first_name[:256], owner.username, now)
            row = ServiceRow(
                code=secrets.token_urlsafe(9),
                owner_id=owner.id,
                name=clean_name,
                duration_min=minutes,
                timezone=timezone,
                zoom_enabled=False,
                source_update=source_update,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            return service_of(row)

    async def of_owner(self, owner_id: int) -> list[Service]:
        async with self._sessions() as session:
            return [service_of(row) for row in await repos.services_of(session, owner_id)]

    async def page(self, owner_id: int, offset: int, size: int) -> tuple[list[Service], int]:
        """One page of the owner's services and how many they have in all."""
        services = await self.of_owner(owner_id)
        return services[offset : offset + size], len(services)

    async def by_code(self, code: str) -> Service | None:
        if not code or len(code) > 32:
            return None
        async with self._sessions() as session:
            row = await repos.service_by_code(session, code)
            return service_of(row) if row else None

    async def get(self, service_id: int) -> Service | None:
        async with self._sessions() as session:
            row = await session.get(ServiceRow, service_id)
            return service_of(row) if row else None

    async def owned(self, owner_id: int, service_id: int | None) -> Service:
        service = await self.get(service_id) if service_id is not None else None
        if service is None:
            raise UserError(texts.STALE_BUTTON)
        if service.owner_id != owner_id:
            raise NotAllowed(texts.NOT_YOURS)
        return service

    async def toggle_zoom(self, owner_id: int, service_id: int | None, turn_on: bool) -> ZoomToggle:
        """Switch Zoom on or off for a service; switching on without a connection returns a login link."""
        service = await self.owned(owner_id, service_id)
        if service.zoom_enabled == turn_on:
            return ZoomToggle(service, None)
        if turn_on:
            connection = await self._connections.connection(owner_id)
            if connection is None or connection.status != ConnectionStatus.ACTIVE:
                return ZoomToggle(service, await self._connections.connect_url(owner_id, service.id))
        async with self._sessions.begin() as session:
            row = await session.get(ServiceRow, service.id)
            if row is None:
                raise UserError(texts.STALE_BUTTON)
            row.zoom_enabled = turn_on
            return ZoomToggle(service_of(row), None)
