"""Zoom token lifecycle against the Zoom emulator and a real database: one refresh however many ask,
rotation saved before use, reconnect on a dead grant, proactive refresh of idle connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select, update

from bot.domain import ConnectionStatus, utcnow
from bot.i18n import Text
from bot.services.persons import Person
from bot.zoom.errors import ZoomGrantError
from sandbox.server import ServedApp
from sandbox.zoom import ZoomSandbox
from sandbox.zoom.control_client import ZoomControl
from storage.models import JobRow, ZoomConnectionRow
from tests.support.services import WiredServices, wired_services

REDIRECT = "http://127.0.0.1:9/zoom/oauth/callback"
OWNER = Person(7, "Olivia")


@pytest.fixture
async def world(any_database_url: str) -> AsyncIterator[WiredServices]:
    zoom = ZoomSandbox("client-id", "client-secret", REDIRECT, "hook-secret")
    with ServedApp(zoom.app) as served, ZoomControl(served.url) as control:
        settings = (served.url, control, "client-id", "client-secret", REDIRECT)
        async with wired_services(any_database_url, zoom=settings) as services:
            await services.persons.touch(OWNER)
            yield services


async def connect(world: WiredServices) -> None:
    url = await world.connections.connect_url(OWNER.id)
    location = (await world.http.get(url)).headers["location"]
    query = parse_qs(urlparse(location).query)
    result = await world.connections.complete(query["state"][0], query["code"][0], None)
    assert result.ok, result.message


def refreshes(world: WiredServices) -> int:
    return sum(1 for call in world.control.token_calls() if call["grant_type"] == "refresh_token")


async def expire_locally(world: WiredServices) -> None:
    async with world.sessions.begin() as session:
        await session.execute(
            update(ZoomConnectionRow).values(access_expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_tokens_are_stored_encrypted(world: WiredServices) -> None:
    await connect(world)
    token = await world.connections.access_token(OWNER.id)
    async with world.sessions() as session:
        row = (await session.scalars(select(ZoomConnectionRow))).one()
    assert row.access_token_enc and token not in row.access_token_enc
    assert world.cipher.decrypt(row.access_token_enc) == token and row.email == "owner@example.com"


async def test_ten_callers_after_expiry_cause_one_refresh(world: WiredServices) -> None:
    await connect(world)
    await expire_locally(world)
    tokens = await asyncio.gather(*(world.connections.access_token(OWNER.id) for _ in range(10)))
    assert refreshes(world) == 1 and len(set(tokens)) == 1
    # The rotated refresh token was saved: the next refresh works.
    await expire_locally(world)
    await world.connections.access_token(OWNER.id)
    assert refreshes(world) == 2


async def test_a_token_zoom_refused_is_refreshed_once(world: WiredServices) -> None:
    await connect(world)
    first = await world.connections.access_token(OWNER.id)
    again = await asyncio.gather(
        *(world.connections.access_token(OWNER.id, rejected=first) for _ in range(5))
    )
    assert refreshes(world) == 1 and first not in again


async def test_a_dead_grant_asks_the_owner_once_to_reconnect(world: WiredServices) -> None:
    await connect(world)
    world.control.revoke_user_grants("owner@example.com")
    await expire_locally(world)
    for _ in range(3):
        with pytest.raises(ZoomGrantError):
            await world.connections.access_token(OWNER.id)
    assert refreshes(world) == 1
    connection = await world.connections.connection(OWNER.id)
    assert connection is not None and connection.status == ConnectionStatus.NEEDS_RECONNECT
    async with world.sessions() as session:
        messages = [job.payload for job in await session.scalars(select(JobRow).where(JobRow.kind == "send"))]
    reconnects = [m for m in messages if m.get("reconnect_button")]
    assert len(reconnects) == 1 and "reconnect" in Text.from_json(reconnects[0]["message"]).render("en")
    await connect(world)
    assert (await world.connections.connection(OWNER.id)) is not None
    await world.connections.access_token(OWNER.id)


async def test_idle_connections_are_refreshed_weekly(world: WiredServices) -> None:
    await connect(world)
    assert await world.connections.refresh_idle(timedelta(days=7)) == 0
    async with world.sessions.begin() as session:
        await session.execute(update(ZoomConnectionRow).values(refreshed_at=utcnow() - timedelta(days=8)))
    assert await world.connections.refresh_idle(timedelta(days=7)) == 1
    assert await world.connections.refresh_idle(timedelta(days=7)) == 0
    assert refreshes(world) == 1


async def test_the_hosts_settings_are_read_at_connect_and_again_only_after_a_day(
    world: WiredServices,
) -> None:
    world.control.change_user_settings("owner@example.com", {"in_meeting": {"waiting_room": True}})
    await connect(world)
    defaults = await world.connections.meeting_defaults(OWNER.id)
    assert defaults is not None and defaults.waiting_room and defaults.passcode
    world.control.change_user_settings("owner@example.com", {"in_meeting": {"waiting_room": False}})
    assert await world.connections.refresh_settings() == 0  # read less than a day ago
    async with world.sessions.begin() as session:
        await session.execute(
            update(ZoomConnectionRow).values(settings_read_at=utcnow() - timedelta(days=1, minutes=1))
        )
    assert await world.connections.refresh_settings() == 1
    assert await world.connections.refresh_settings() == 0
    fresh = await world.connections.meeting_defaults(OWNER.id)
    assert fresh is not None and not fresh.waiting_room
    reads = [r for r in world.control.requests() if r["path"] == "/v2/users/me/settings"]
    assert len(reads) == 2
