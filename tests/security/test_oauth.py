"""Every bad OAuth callback gets a clear page, tells the owner when known, and stores nothing.

And the deliberate rule for a Zoom account another owner already connected: it moves to whoever logged
in last (Zoom itself revokes the previous grant), the previous owner is told and their services go Off.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.telegram.client import TelegramUser
from tests.support import barrier
from tests.support.databases import execute, is_sqlite, query, services_state, stored_tokens
from tests.support.journeys import (
    Shop,
    connect_link,
    connect_zoom,
    create_service,
    has_join,
    new_user_id,
    order,
    person,
)
from tests.support.observe import callback_of, log_problems, query_of
from tests.support.worlds import World

FAILED_PAGE = "Zoom was not connected"
TOLD = "Connecting Zoom did not work"


@pytest.fixture(autouse=True)
def zoom_as_usual(world: World) -> Iterator[None]:
    world.sandbox.zoom_control.login("owner@example.com")
    yield
    world.sandbox.zoom_control.clear_faults()
    world.sandbox.zoom_control.set_code_ttl(300)


def new_owner(world: World, name: str = "Olivia") -> tuple[TelegramUser, Shop]:
    owner = person(world.sandbox, new_user_id(), name)
    return owner, create_service(owner, 30, f"Call of {name}")


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10, follow_redirects=False)


def last_id(user: TelegramUser) -> int:
    return max((m.message_id for m in user.bot_messages()), default=0)


def assert_failed_page(page: httpx.Response, *leaks: str) -> None:
    assert page.status_code == 400, page.text
    assert FAILED_PAGE in page.text and page.headers["content-type"].startswith("text/html")
    for leak in leaks:
        assert leak not in page.text
    assert "Traceback" not in page.text


def assert_nothing_stored(world: World, owner: TelegramUser) -> None:
    rows = stored_tokens(world.database_url, owner.user_id)
    assert all(access is None and refresh is None for _, access, refresh in rows), rows
    assert [row[3] for row in services_state(world.database_url) if row[1] == owner.user_id] == [False]
    seen = last_id(owner)
    owner.send("/zoom")
    status = owner.wait_for(lambda m: m.message_id > seen, description="the /zoom answer")
    assert "not connected" in status.text


def told(owner: TelegramUser, since: int, reason: str) -> None:
    message = owner.wait_for(lambda m: m.message_id > since and TOLD in m.text, description=f"'{TOLD}'")
    assert reason in message.text


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"code": "abc"},
        {"state": "", "code": ""},
        {"state": "unknown", "code": "abc"},
        {"state": "x" * 201, "code": "abc"},
        {"error": "access_denied"},
        {"state": "<script>alert(1)</script>", "error": "<b>boom</b>", "code": "<i>c</i>"},
    ],
    ids=["nothing", "code-only", "empty", "unknown", "too-long", "error-only", "markup"],
)
def test_a_callback_without_a_known_state_is_refused_and_reaches_no_one(
    world: World, params: dict[str, str]
) -> None:
    calls_before = len(world.telegram.calls("sendMessage"))
    tokens_before = len(world.sandbox.zoom_control.token_calls())
    connections_before = query(world.database_url, "SELECT * FROM zoom_connections ORDER BY id")
    page = get(f"{world.sandbox.bot_url}/zoom/oauth/callback?{httpx.QueryParams(params)}")
    assert_failed_page(page, "<script>", "<b>boom</b>", "<i>c</i>")
    barrier(database_url=world.database_url)
    assert len(world.telegram.calls("sendMessage")) == calls_before
    assert len(world.sandbox.zoom_control.token_calls()) == tokens_before
    assert query(world.database_url, "SELECT * FROM zoom_connections ORDER BY id") == connections_before


def test_an_expired_state_is_refused_told_and_used_up(world: World) -> None:
    owner, shop = new_owner(world)
    link = connect_link(owner, shop)
    state = query_of(link)["state"]
    digest = hashlib.sha256(state.encode()).hexdigest()
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    past = long_ago.strftime("%Y-%m-%d %H:%M:%S.%f") if is_sqlite(world.database_url) else long_ago
    execute(world.database_url, "UPDATE oauth_states SET expires_at = ? WHERE state_hash = ?", past, digest)
    tokens_before = len(world.sandbox.zoom_control.token_calls())
    seen = last_id(owner)
    callback = callback_of(link)
    page = get(callback)
    assert_failed_page(page, state, query_of(callback)["code"])
    assert "expired" in page.text
    told(owner, seen, "expired")
    assert len(world.sandbox.zoom_control.token_calls()) == tokens_before  # the code was never exchanged
    assert "already used" in get(callback).text
    assert_nothing_stored(world, owner)


def test_a_state_used_once_for_a_declined_login_cannot_be_used_again(world: World) -> None:
    owner, shop = new_owner(world)
    link = connect_link(owner, shop)
    world.sandbox.zoom_control.decline_next_consent()
    seen = last_id(owner)
    declined = world.sandbox.zoom_control.open_authorize_link(link)
    assert_failed_page(declined)
    assert "declined" in declined.text
    told(owner, seen, "declined")
    tokens_before = len(world.sandbox.zoom_control.token_calls())
    again = world.sandbox.zoom_control.open_authorize_link(link)  # this time the person accepts
    assert_failed_page(again)
    assert "already used" in again.text
    assert len(world.sandbox.zoom_control.token_calls()) == tokens_before
    assert_nothing_stored(world, owner)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("status", {"status": 500}),
        ("status", {"status": 401}),
        ("status", {"status": 200, "body": "{}"}),
        ("drop", {}),
    ],
    ids=["500", "401", "200-without-tokens", "dropped"],
)
def test_a_failed_code_exchange_stores_nothing_and_tells_the_owner(
    world: World, kind: str, params: dict[str, Any]
) -> None:
    owner, shop = new_owner(world)
    link = connect_link(owner, shop)
    world.sandbox.zoom_control.fault("POST", "/oauth/token", kind, count=None, **params)
    seen = last_id(owner)
    page = world.sandbox.zoom_control.open_authorize_link(link)
    assert_failed_page(page, query_of(link)["state"])
    told(owner, seen, "Zoom did not accept the login")
    world.sandbox.zoom_control.clear_faults()
    assert_nothing_stored(world, owner)


def test_a_failed_profile_read_after_the_exchange_stores_nothing(world: World) -> None:
    owner, shop = new_owner(world)
    link = connect_link(owner, shop)
    world.sandbox.zoom_control.fault("GET", "/v2/users/me", "status", count=None, status=500)
    seen = last_id(owner)
    page = world.sandbox.zoom_control.open_authorize_link(link)
    assert_failed_page(page)
    told(owner, seen, "Zoom did not tell which account logged in")
    world.sandbox.zoom_control.clear_faults()
    assert_nothing_stored(world, owner)


def test_a_login_that_fails_after_the_code_exchange_leaves_no_live_grant_at_zoom(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    link = connect_link(owner, create_service(owner, 30, "Call"))
    world.sandbox.zoom_control.fault("GET", "/v2/users/me", "status", count=None, status=500)
    assert world.sandbox.zoom_control.open_authorize_link(link).status_code == 400
    world.sandbox.zoom_control.clear_faults()
    barrier(owner, world.database_url)
    user = next(u for u in world.sandbox.zoom_control.users() if u["email"] == "owner@example.com")
    assert world.sandbox.zoom.authority.live_grants(user["id"]) == 0


def test_a_code_that_expired_at_zoom_stores_nothing_and_tells_the_owner(world: World) -> None:
    owner, shop = new_owner(world)
    link = connect_link(owner, shop)
    world.sandbox.zoom_control.set_code_ttl(0.3)
    callback = callback_of(link)
    world.sandbox.zoom_control.advance_time(0.8)  # the sandbox clock: the code is past its lifetime
    seen = last_id(owner)
    page = get(callback)
    assert_failed_page(page, query_of(callback)["code"])
    told(owner, seen, "Zoom did not accept the login")
    assert world.sandbox.zoom_control.token_calls()[-1]["error"] == "invalid_grant"
    assert_nothing_stored(world, owner)


def test_a_code_issued_for_another_owners_login_is_useless_with_my_state(world: World) -> None:
    """PKCE binds each code to the login it was issued for: a stolen code cannot be redeemed elsewhere."""
    victim, victims_shop = new_owner(world, "Vera")
    attacker, attackers_shop = new_owner(world, "Mallory")
    victims_callback = callback_of(connect_link(victim, victims_shop))
    attackers_callback = callback_of(connect_link(attacker, attackers_shop))
    stolen_code = query_of(victims_callback)["code"]
    attackers_state = query_of(attackers_callback)["state"]
    seen = last_id(attacker)
    mixed = f"{world.sandbox.bot_url}/zoom/oauth/callback?" + str(
        httpx.QueryParams({"state": attackers_state, "code": stolen_code})
    )
    page = get(mixed)
    assert_failed_page(page, stolen_code, attackers_state)
    told(attacker, seen, "Zoom did not accept the login")
    assert world.sandbox.zoom_control.token_calls()[-1]["error"] == "invalid_grant"
    assert "already used" in get(attackers_callback).text  # the attacker's own state is spent too
    victim_seen = last_id(victim)
    assert_failed_page(get(victims_callback))  # Zoom never redeems a code twice, even for its owner
    told(victim, victim_seen, "Zoom did not accept the login")
    assert_nothing_stored(world, attacker)
    assert_nothing_stored(world, victim)


def test_a_zoom_account_moves_to_the_owner_who_connected_it_last(world: World) -> None:
    control = world.sandbox.zoom_control
    control.add_user("shared@example.com")
    first, first_shop = new_owner(world, "Fiona")
    connect_zoom(world.sandbox, first_shop, "shared@example.com")
    second, second_shop = new_owner(world, "Sam")
    seen = last_id(first)
    connect_zoom(world.sandbox, second_shop, "shared@example.com")

    moved = first.wait_for(lambda m: m.message_id > seen and "was just connected by another" in m.text)
    assert "shared@example.com" in moved.text and "Zoom is now Off for your services" in moved.text
    assert_nothing_stored(world, first)
    rows = stored_tokens(world.database_url, second.user_id)
    assert [row[0] for row in rows] == ["active"] and rows[0][1] and rows[0][2]
    shared = next(user for user in control.users() if user["email"] == "shared@example.com")
    assert world.sandbox.zoom.authority.live_grants(shared["id"]) == 1

    placed = order(person(world.sandbox, new_user_id(), "Carl"), first_shop.code)
    assert "No Zoom meeting" in placed.text
    customer = person(world.sandbox, new_user_id(), "Dora")
    order(customer, second_shop.code)
    customer.wait_for(has_join, timeout=15, description="a meeting in the moved account")
    assert [meeting["host_email"] for meeting in control.meetings(email="shared@example.com")] == [
        "shared@example.com"
    ]


def test_no_error_was_logged(world: World) -> None:
    assert not log_problems(world.log())
