"""The Zoom token lifecycle under load: one refresh for many orders, and a revoked grant end to end."""

from __future__ import annotations

import pytest

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.crowds import (
    assert_one_meeting_per_order,
    customer_card,
    customers,
    links_in_both_chats,
    place_orders,
    wait_until_every_card_says,
)
from tests.support.journeys import (
    connect_zoom,
    create_service,
    has_button,
    person,
    texts_of,
    zoom_service,
)
from tests.support.observe import creates, live_meetings, refreshes
from tests.support.waiting import stays_the_same

WAITING_RECONNECT = "waiting for the owner to reconnect Zoom"


@pytest.mark.parametrize(("expiry", "count"), [("expired_at_zoom", 10), ("about_to_expire", 4)])
def test_orders_at_once_after_token_expiry_cause_exactly_one_refresh(
    sandbox: Sandbox, bot: BotProcess, expiry: str, count: int
) -> None:
    owner = person(sandbox, 11, "Olivia")
    shop = create_service(owner, 30, "Tutoring")
    if expiry == "about_to_expire":
        # The bot refreshes two minutes before expiry: this token is inside that margin from the start (with
        # 121 s it was only after a second, and orders placed within it used the token as it was).
        sandbox.zoom_control.set_token_lifetime(100)
    connect_zoom(sandbox, shop)
    sandbox.zoom_control.set_token_lifetime(3599)
    if expiry == "expired_at_zoom":
        sandbox.zoom_control.expire_access_tokens()  # the bot still believes its token is good: 401s
    # A slow token endpoint keeps the first refresh in flight while the other orders' jobs arrive.
    sandbox.zoom_control.fault("POST", "/oauth/token", "delay", count=1, seconds=2)

    placed = place_orders(shop, customers(sandbox, count, 100))

    links = links_in_both_chats(owner, placed, timeout=60)
    assert len(set(links.values())) == count
    calls = refreshes(sandbox)
    assert len(calls) == 1, calls
    assert calls[0]["status"] == 200
    assert_one_meeting_per_order(sandbox, links)
    assert len([r for r in creates(sandbox) if r["status"] == 201]) == count
    assert not texts_of(owner, "Zoom stopped accepting")


def test_a_revoked_grant_asks_the_owner_once_and_waiting_meetings_follow_the_reconnect(
    sandbox: Sandbox, bot: BotProcess, database_url: str
) -> None:
    owner = person(sandbox, 11, "Olivia")
    shop = zoom_service(sandbox, owner, 30, "Tutoring")
    sandbox.zoom_control.revoke_user_grants("owner@example.com")
    # Two orders whose jobs meet the revoked grant together (the refused refresh is slow)...
    sandbox.zoom_control.fault("POST", "/oauth/token", "delay", count=1, seconds=2)
    placed = place_orders(shop, customers(sandbox, 2, 100))
    asked = owner.wait_for(
        lambda m: has_button(m, "Reconnect Zoom"), timeout=30, description="a Reconnect Zoom button"
    )
    assert "reconnect" in asked.text and "owner@example.com" in asked.text
    # ...and one placed while the bot already knows the owner must reconnect.
    placed += place_orders(shop, customers(sandbox, 1, 200), first_slot=2)

    cards = wait_until_every_card_says(
        owner, placed, WAITING_RECONNECT, 30, "every order card saying it waits for a reconnect"
    )
    for p in placed:
        for card in (customer_card(p), cards[p.number]):
            assert "Join" not in card.text, card.text
    assert stays_the_same(lambda: len(texts_of(owner, "Zoom stopped accepting")), owner, database_url) == 1
    assert live_meetings(sandbox) == []

    reconnect(sandbox, owner, asked)

    links = links_in_both_chats(owner, placed, timeout=40)
    assert_one_meeting_per_order(sandbox, links)
    assert len(texts_of(owner, "Zoom stopped accepting")) == 1
    assert len(texts_of(owner, "Zoom is connected")) == 2


def reconnect(sandbox: Sandbox, owner: TelegramUser, asked: SentMessage) -> None:
    """The owner opens the Reconnect Zoom link from the message and logs in again."""
    url = owner.press(asked, "Reconnect Zoom")
    assert url is not None
    sandbox.zoom_control.login("owner@example.com")
    page = sandbox.zoom_control.open_authorize_link(url)
    assert page.status_code == 200, page.text
