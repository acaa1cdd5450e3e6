"""Late and out-of-order Zoom events (issue 9): Zoom retries deliveries for hours, so an event may describe
a state that is already gone. Only what is true now may change an order or a connection."""

from __future__ import annotations

import httpx
import pytest

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import TelegramUser
from sandbox.zoom.control_client import WebhookNotDelivered
from tests.support.journeys import (
    has_join,
    order,
    order_number,
    person,
    zoom_service,
)
from tests.support.observe import marker_of, query_of
from tests.support.waiting import eventually

RETRY_AFTER = 3.0  # seconds until the emulated Zoom retries a failed delivery
DRIFT = "no longer matches the order"
NOWHERE = "http://127.0.0.1:9/nowhere"


def retried_deliveries(sandbox: Sandbox, event: str) -> list[dict[str, object]]:
    return [
        d
        for d in sandbox.zoom_control.deliveries()
        if d.get("event") == event
        and str(d.get("variant", "")).startswith("retry")
        and d.get("status") == 200
    ]


def test_a_late_meeting_updated_does_not_flag_a_meeting_that_matches_the_order(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    email = "late-update@example.com"
    shop = zoom_service(sandbox, person(sandbox, 9001, "Owner9001"), 60, "Session", email)
    first, second = person(sandbox, 9002, "First"), person(sandbox, 9003, "Second")
    first_number = order_number(order(first, shop.code, day_index=0))
    first.wait_for(has_join, timeout=20, description="the Join button")
    second_number = order_number(order(second, shop.code, day_index=1))
    second.wait_for(has_join, timeout=20, description="the Join button")
    by_order = {marker_of(m): m for m in sandbox.zoom_control.meetings(email)}
    meeting, other = by_order[first_number], by_order[second_number]

    # The host shortens the first meeting in Zoom while the bot is unreachable, then puts it back.
    sandbox.zoom_control.set_webhook_retry_delays([RETRY_AFTER])
    sandbox.zoom_control.set_webhook_url(NOWHERE)
    with pytest.raises(WebhookNotDelivered):
        sandbox.zoom_control.send_webhook(
            "meeting.updated", meeting_id=meeting["id"], changes={"duration": 15}
        )
    sandbox.zoom_control.set_webhook_url(sandbox.bot_url + "/zoom/webhook")
    sandbox.zoom_control.send_webhook("meeting.updated", meeting_id=meeting["id"], changes={"duration": 60})
    # Zoom's retry of the first event now arrives, after the second: it describes a state that is gone.
    eventually(lambda: retried_deliveries(sandbox, "meeting.updated"), 30, "Zoom's retry of the first event")

    # The barrier: a real change of the other meeting, which the owner must be told about.
    sandbox.zoom_control.send_webhook("meeting.updated", meeting_id=other["id"], changes={"duration": 15})
    shop.owner.wait_for(lambda m: DRIFT in m.text and f"#{second_number} " in m.text, 20, "the real change")
    # Everything queued for the owner's chat before this notice is delivered before it.
    shop.owner.send("/zoom")
    shop.owner.press(shop.owner.wait_for_text("connected as"), "Reconnect")
    link = shop.owner.wait_for(lambda m: any(b.url for row in m.buttons for b in row), 20, "a login link")
    state = next(query_of(b.url)["state"] for row in link.buttons for b in row if b.url)
    with httpx.Client(trust_env=False, timeout=10) as browser:
        browser.get(
            sandbox.bot_url + "/zoom/oauth/callback", params={"state": state, "error": "access_denied"}
        )
    shop.owner.wait_for_text("Connecting Zoom did not work", timeout=20)
    wrong = [m.text for m in shop.owner.bot_messages() if DRIFT in m.text and f"#{first_number} " in m.text]
    assert not wrong, f"the late event about a state Zoom no longer has was flagged: {wrong}"


def test_a_late_app_deauthorized_does_not_switch_off_a_newer_connection(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    email = "late-removal@example.com"
    shop = zoom_service(sandbox, person(sandbox, 9101, "Owner9101"), 60, "Session", email)
    owner: TelegramUser = shop.owner

    # The owner removes the app in Zoom while the bot is unreachable, then connects again.
    sandbox.zoom_control.set_webhook_retry_delays([RETRY_AFTER])
    sandbox.zoom_control.set_webhook_url(NOWHERE)
    with pytest.raises(WebhookNotDelivered):
        sandbox.zoom_control.send_webhook("app_deauthorized", email=email)
    sandbox.zoom_control.set_webhook_url(sandbox.bot_url + "/zoom/webhook")
    owner.send("/zoom")
    owner.press(owner.wait_for_text("connected as"), "Reconnect")
    link = owner.wait_for(lambda m: any(b.url for row in m.buttons for b in row), 20, "the login link")
    url = next(b.url for row in link.buttons for b in row if b.url)
    assert sandbox.zoom_control.open_authorize_link(url).status_code == 200
    owner.wait_for_text("Zoom is connected")
    eventually(lambda: retried_deliveries(sandbox, "app_deauthorized"), 30, "Zoom's retry of the removal")

    # The barrier: another owner removes the app now, and is told so.
    other = zoom_service(
        sandbox, person(sandbox, 9102, "Owner9102"), 60, "Session", "other-removal@example.com"
    )
    sandbox.zoom_control.send_webhook("app_deauthorized", email="other-removal@example.com")
    other.owner.wait_for(lambda m: "Zoom" in m.text and "removed" in m.text, 20, "the other owner's notice")
    owner.send("/zoom")
    assert email in owner.wait_for_text("connected as").text
