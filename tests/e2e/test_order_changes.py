"""After ordering: changes reach Zoom and both chats; statuses; Zoom off, disconnect, uninstall."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from sandbox.zoom.control_client import WebhookNotDelivered
from tests.support import OWNER_ZONE, barrier, wait_until
from tests.support.journeys import (
    Shop,
    book_with_zoom,
    has_join,
    join_url,
    order,
    person,
    reschedule,
    set_timezone,
    zoom_service,
    zoom_start,
)


def zoom_writes(sandbox: Sandbox, method: str) -> list[dict[str, Any]]:
    return [
        r
        for r in sandbox.zoom_control.requests()
        if r["method"] == method and "/meetings" in r["path"] and 200 <= int(r["status"]) < 300
    ]


@pytest.fixture
def booked(sandbox: Sandbox, bot: BotProcess) -> tuple[Shop, TelegramUser, SentMessage]:
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    set_timezone(owner, OWNER_ZONE)
    booked = book_with_zoom(sandbox, owner, customer, time_label="10:00")
    return booked.shop, booked.customer, booked.card


def test_reschedule_patches_the_meeting_once_and_both_chats_hear_of_it(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage]
) -> None:
    shop, customer, card = booked
    link = join_url(card)
    day_label = reschedule(customer, card, 2, "14:00")
    moved_to = zoom_start(day_label, "14:00", OWNER_ZONE)
    for chat in (customer, shop.owner):
        told = chat.wait_for(
            lambda m: "Rescheduled" in m.text, timeout=20, description="the reschedule notice"
        )
        assert "10:00" in told.text and "14:00" in told.text and f"({OWNER_ZONE})" in told.text
        assert join_url(told) == link
    patches = zoom_writes(sandbox, "PATCH")
    assert len(patches) == 1 and patches[0]["json"]["start_time"] == moved_to
    meeting = sandbox.zoom_control.meetings()[0]
    assert meeting["start_time"] == moved_to and meeting["duration"] == 60
    assert len(zoom_writes(sandbox, "POST")) == 1
    gets_after = [
        r for r in sandbox.zoom_control.requests() if r["method"] == "GET" and "/meetings/" in r["path"]
    ]
    assert gets_after, "the meeting is read back after the PATCH"
    refreshed = customer.wait_for(lambda m: m.message_id == card.message_id and "14:00" in m.text, timeout=10)
    assert has_join(refreshed)


@pytest.mark.bot_env(MEETING_EDIT_SETTLE_SECONDS="3")  # the production value: it makes the burst one
def test_a_burst_of_three_edits_is_one_patch_with_the_final_values(
    sandbox: Sandbox, bot: BotProcess, database_url: str
) -> None:
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    set_timezone(owner, OWNER_ZONE)
    # Zoom holds every token refresh until the three edits are in (every sync refreshes: tokens live 125 s,
    # the bot renews 2 min early), so edits that land while a sync waits (the burst outlasting the 3 s of
    # settling on a slow machine) still give Zoom one PATCH, with the final values.
    sandbox.zoom_control.set_token_lifetime(125)
    shop = zoom_service(sandbox, owner, 60, "Session")
    order(customer, shop.code, day_index=1, time_label="10:00")
    card = customer.wait_for(has_join, timeout=20, description="the Join button")
    sandbox.zoom_control.fault("POST", "/oauth/token", "hang", count=None, seconds=60)
    customer.press(card, "Rename")
    customer.wait_for_text("Send the new name")
    customer.send("Renamed session")
    customer.press(customer.wait_for_text("Rename Order"), "Confirm")
    customer.wait_for_text("renamed to")
    customer.press(card, "Duration")
    customer.press(customer.wait_for_text("new duration"), "90 min")
    customer.press(customer.wait_for_text("Change the duration"), "Confirm")
    customer.wait_for_text("now 90 min long")
    day_label = reschedule(customer, card, 2, "11:00")
    sandbox.zoom_control.clear_faults()  # the burst is in: a held refresh goes on, later ones pass
    told = customer.wait_for(
        lambda m: "Order #1 changed" in m.text, timeout=20, description="the change notice"
    )
    assert "Renamed session" in told.text and "90" in told.text and "Rescheduled" in told.text
    patches = zoom_writes(sandbox, "PATCH")
    assert len(patches) == 1, patches
    body = patches[0]["json"]
    assert (
        body["topic"] == "Renamed session"
        and body["duration"] == 90
        and body["start_time"] == zoom_start(day_label, "11:00", OWNER_ZONE)
    )
    shop.owner.wait_for(lambda m: "Order #1 changed" in m.text, timeout=20, description="the owner's notice")
    barrier(shop.owner, database_url)
    changed = [m for m in shop.owner.bot_messages() if "Order #1 changed" in m.text]
    assert len(changed) == 1


def test_cancel_reject_and_done_make_no_zoom_call_and_tell_the_other_party(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage], database_url: str
) -> None:
    shop, customer, card = booked
    before = len(sandbox.zoom_control.requests())
    customer.press(card, "Cancel")
    customer.press(customer.wait_for_text("Cancel Order #1?"), "Confirm")
    customer.wait_for_text("Order #1: cancelled")
    told = shop.owner.wait_for_text("was cancelled by the customer")
    assert "stays in the owner's Zoom account" in told.text
    closed = customer.wait_for(lambda m: m.message_id == card.message_id and "Cancelled" in m.text)
    # A closed order keeps only Add to calendar (its file now says the order is cancelled).
    assert [[b.text for b in row] for row in closed.buttons] == [["Add to calendar"]]
    barrier(database_url=database_url)
    assert len(sandbox.zoom_control.requests()) == before
    assert not [r for r in sandbox.zoom_control.requests() if r["method"] == "DELETE"]


def test_owner_confirms_then_marks_done_without_zoom_calls(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage]
) -> None:
    shop, customer, _ = booked
    owners_card = shop.owner.wait_for(has_join)
    before = len(sandbox.zoom_control.requests())
    shop.owner.press(owners_card, "Confirm")
    customer.wait_for_text("was confirmed by the owner")
    confirmed = shop.owner.wait_for(
        lambda m: m.message_id == owners_card.message_id and "Confirmed" in m.text
    )
    shop.owner.press(confirmed, "Done")
    customer.wait_for_text("marked done")
    assert len(sandbox.zoom_control.requests()) == before


def test_someone_else_pressing_copied_buttons_is_refused_and_changes_nothing(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage]
) -> None:
    shop, customer, card = booked
    stranger = person(sandbox, 99, "Mallory")
    stranger.send("/start")
    own = stranger.wait_for_text("/newservice")
    for data in ["a:1:cx", "y:1:cx:1", "y:1:rj:1", "a:1:rs", "y:1:du:1:15", "a:1:mk", "zt:1:0", "so:1"]:
        stranger.press_data(own.message_id, data)
        answer = stranger.callback_answer()
        assert (
            answer is not None
            and answer.show_alert
            and ("not yours" in answer.text or "out of date" in answer.text)
        )
    customer.press_data(card.message_id, "y:1:rj:1")  # the customer may not reject
    assert "not yours" in (customer.callback_answer() or pytest.fail("no answer")).text
    shop.owner.send("/orders")
    listed = shop.owner.wait_for(lambda m: "Order #1" in m.text and m.message_id > card.message_id)
    assert "New" in listed.text


def test_switching_zoom_off_gives_later_orders_no_meeting(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage], database_url: str
) -> None:
    shop, customer, _ = booked
    shop.owner.send("/services")
    card = shop.owner.wait_for(lambda m: "Zoom: On" in m.text and "Share link" in m.text)
    shop.owner.press(card, "Zoom: On")
    shop.owner.wait_for(lambda m: m.message_id == card.message_id and "Zoom: Off" in m.text)
    creates = len(zoom_writes(sandbox, "POST"))
    second = person(sandbox, 33, "Dora")
    placed = order(second, shop.code, day_index=3)
    assert "No Zoom meeting" in placed.text
    barrier(database_url=database_url)
    assert len(zoom_writes(sandbox, "POST")) == creates
    assert has_join(customer.wait_for(has_join))  # the existing meeting stays


def test_disconnect_revokes_at_zoom_and_stops_meetings(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage], database_url: str
) -> None:
    shop, _, _ = booked
    shop.owner.send("/zoom")
    status = shop.owner.wait_for_text("connected as owner@example.com")
    shop.owner.press(status, "Disconnect")
    shop.owner.press(shop.owner.wait_for_text("Disconnect Zoom"), "Disconnect")
    shop.owner.wait_for_text("Zoom is disconnected and switched Off for all your services")
    revokes = [call for call in sandbox.zoom_control.token_calls() if call.get("endpoint") == "revoke"]
    revoke_requests = [r for r in sandbox.zoom_control.requests() if r["path"].endswith("/oauth/revoke")]
    assert revokes or revoke_requests
    count = len(sandbox.zoom_control.requests())
    placed = order(person(sandbox, 44, "Eve"), shop.code, day_index=4)
    assert "No Zoom meeting" in placed.text
    barrier(database_url=database_url)
    assert len([r for r in sandbox.zoom_control.requests() if r["path"].startswith("/v2")]) == len(
        [r for r in sandbox.zoom_control.requests()[:count] if r["path"].startswith("/v2")]
    )


def test_uninstalling_in_zoom_switches_zoom_off_and_tells_the_owner_once(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage], database_url: str
) -> None:
    shop, _, _ = booked
    for variant in ("forged", "stale", "unsigned"):
        refused = sandbox.zoom_control.send_webhook(
            "app_deauthorized", variant=variant, email="owner@example.com"
        )
        assert refused.status_code == 401
    shop.owner.send("/zoom")
    shop.owner.wait_for_text("connected as owner@example.com")
    answer = sandbox.zoom_control.send_webhook("app_deauthorized", email="owner@example.com")
    assert answer.status_code == 200
    replay = sandbox.zoom_control.send_webhook("app_deauthorized", variant="replay")
    assert replay.status_code == 200
    shop.owner.wait_for_text("The Zoom app was removed from your Zoom account")
    barrier(database_url=database_url)
    assert len([m for m in shop.owner.bot_messages() if "was removed from your Zoom" in m.text]) == 1
    placed = order(person(sandbox, 55, "Finn"), shop.code, day_index=5)
    assert "No Zoom meeting" in placed.text


def test_url_validation_is_answered(sandbox: Sandbox, bot: BotProcess) -> None:
    answer = sandbox.zoom_control.send_webhook("endpoint.url_validation")
    assert answer.status_code == 200 and answer.headers.get("x-sandbox-url-validation") == "passed"


def test_a_meeting_deleted_in_zoom_is_told_and_can_be_created_again(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage]
) -> None:
    shop, customer, card = booked
    meeting_id = sandbox.zoom_control.meetings()[0]["id"]
    assert sandbox.zoom_control.send_webhook("meeting.deleted", meeting_id=meeting_id).status_code == 200
    told = shop.owner.wait_for_text("was deleted in Zoom")
    owners_card = shop.owner.wait_for(
        lambda m: "Create meeting" in str(m.buttons), description="Create meeting"
    )
    assert not has_join(owners_card)
    shop.owner.press(owners_card, "Create meeting")
    shop.owner.press(shop.owner.wait_for_text("Create a Zoom meeting for Order #1?"), "Confirm")
    fresh = customer.wait_for(lambda m: has_join(m) and join_url(m) != join_url(card), timeout=15)
    assert fresh.message_id == card.message_id and told.message_id > 0
    assert len(zoom_writes(sandbox, "POST")) == 2


def test_a_meeting_zoom_no_longer_knows_is_created_again_with_a_new_link(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage]
) -> None:
    shop, customer, card = booked
    meeting_id = sandbox.zoom_control.meetings()[0]["id"]
    sandbox.zoom_control.set_webhook_url("http://127.0.0.1:9/nowhere")  # the bot does not hear of it
    with pytest.raises(WebhookNotDelivered):
        sandbox.zoom_control.send_webhook("meeting.deleted", meeting_id=meeting_id)
    reschedule(customer, card, 2, "15:00")
    for chat in (customer, shop.owner):
        told = chat.wait_for(lambda m: "new Zoom meeting was created" in m.text, timeout=20)
        assert join_url(told) and join_url(told) != join_url(card)
    assert len(zoom_writes(sandbox, "POST")) == 2


def test_a_host_edit_in_zoom_is_flagged_and_can_be_put_back(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage]
) -> None:
    shop, _, _ = booked
    meeting = sandbox.zoom_control.meetings()[0]
    sandbox.zoom_control.send_webhook("meeting.updated", meeting_id=meeting["id"], changes={"duration": 15})
    shop.owner.wait_for_text("no longer matches the order")
    drifted = shop.owner.wait_for(
        lambda m: "Restore meeting" in str(m.buttons), description="Restore meeting"
    )
    shop.owner.press(drifted, "Restore meeting")
    shop.owner.press(shop.owner.wait_for_text("Put the order's name"), "Confirm")
    wait_until(lambda: sandbox.zoom_control.meetings()[0]["duration"] == 60, 15, "the duration put back")
    assert sandbox.zoom_control.meetings()[0]["duration"] == 60


def test_echoes_of_the_bots_own_updates_are_ignored(
    sandbox: Sandbox, booked: tuple[Shop, TelegramUser, SentMessage], database_url: str
) -> None:
    shop, customer, card = booked
    sandbox.zoom_control.set_emit_api_events(True)
    reschedule(customer, card, 2, "16:00")
    customer.wait_for(lambda m: "Rescheduled" in m.text, timeout=20)
    wait_until(  # Zoom's echo of the bot's own PATCH has reached the bot ...
        lambda: [d for d in sandbox.zoom_control.deliveries() if d["event"] == "meeting.updated"],
        description="the echo of the PATCH delivered",
    )
    barrier(shop.owner, database_url)  # ... and whatever it queued has run
    assert "no longer matches" not in shop.owner.transcript()
