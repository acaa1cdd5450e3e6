"""Zoom logins at the same moment, before /start, and disconnecting (issue 9)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.journeys import (
    connect_link,
    create_service,
    new_user_id,
    person,
    zoom_service,
)
from tests.support.observe import callback_of
from tests.support.worlds import World


def log_in(world: World, email: str) -> None:
    """The browser is logged in at zoom.us as a Zoom user of this email."""
    world.sandbox.zoom_control.add_user(email)
    world.sandbox.zoom_control.login(email)


def at_once(urls: list[str]) -> list[httpx.Response]:
    def get(url: str) -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=30) as browser:
            return browser.get(url)

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(get, urls))


def test_one_login_link_opened_twice_at_once_connects_once_and_says_why_the_other_failed(
    world: World,
) -> None:
    for n in range(4):
        owner = person(world.sandbox, new_user_id(), f"Twice{n}")
        log_in(world, f"twice{n}@example.com")
        callback = callback_of(connect_link(owner, create_service(owner, 30, "Call")))
        answers = sorted(at_once([callback, callback]), key=lambda a: a.status_code)
        assert [a.status_code for a in answers] == [200, 400], [a.text for a in answers]
        assert "already used" in answers[1].text, answers[1].text


def test_two_logins_of_one_owner_finishing_together_give_no_server_error(world: World) -> None:
    for n in range(4):
        owner = person(world.sandbox, new_user_id(), f"Double{n}")
        shop = create_service(owner, 30, "Call")
        log_in(world, f"double{n}@example.com")
        callbacks = [callback_of(connect_link(owner, shop)) for _ in range(2)]
        answers = at_once(callbacks)
        assert all(a.status_code < 500 for a in answers), [(a.status_code, a.text) for a in answers]
        assert any(a.status_code == 200 for a in answers)
        owner.send("/zoom")
        assert f"double{n}@example.com" in owner.wait_for_text("connected as").text


def test_zoom_before_start_connects(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Eager")
    log_in(world, "eager@example.com")
    owner.send("/zoom")
    owner.press(owner.wait_for_text("not connected"), "Connect Zoom")
    link = owner.wait_for(lambda m: any(b.url for row in m.buttons for b in row), 20, "the login link")
    url = next(b.url for row in link.buttons for b in row if b.url)
    page = world.sandbox.zoom_control.open_authorize_link(url)
    assert page.status_code == 200, page.text
    owner.wait_for_text("Zoom is connected")


def test_disconnect_revokes_the_grant_at_zoom(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Leaver")
    zoom_service(world.sandbox, owner, 30, "Call", "leaver@example.com")
    user = next(u for u in world.sandbox.zoom_control.users() if u["email"] == "leaver@example.com")
    assert world.sandbox.zoom.authority.live_grants(user["id"]) == 1
    owner.send("/zoom")
    owner.press(owner.wait_for_text("connected as"), "Disconnect")
    owner.press(owner.wait_for_text("Disconnect Zoom"), "Disconnect")
    owner.wait_for_text("Zoom is disconnected")
    assert world.sandbox.zoom.authority.live_grants(user["id"]) == 0
