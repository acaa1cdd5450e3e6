"""The ordering loop end to end: the real bot process against the Telegram and Zoom emulators."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from sandbox.harness import BotProcess, Sandbox
from tests.support import OWNER_ZONE
from tests.support.journeys import (
    create_service,
    has_join,
    join_url,
    offered_date,
    open_times,
    order,
    order_on_day,
    person,
    pick_time,
    set_timezone,
    zoom_service,
)
from tests.support.waiting import eventually


def test_order_gets_a_zoom_meeting_at_the_ordered_time_and_both_chats_get_the_link(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    set_timezone(owner, OWNER_ZONE)
    shop = zoom_service(sandbox, owner, 45, "Tutoring")
    placed, day_label = order_on_day(
        customer, shop.code, day_index=1, time_label="10:00", name="Maths with Carl"
    )
    assert (
        "Order #1" in placed.text
        and "Maths with Carl" in placed.text
        and f"10:00 ({OWNER_ZONE})" in placed.text
    )

    mine = customer.wait_for(has_join, timeout=15, description="the customer's order with the Join button")
    theirs = owner.wait_for(has_join, timeout=15, description="the owner's order with the Join button")
    assert join_url(mine) == join_url(theirs)
    assert (
        "Customer: Carl" in theirs.text and "Reject" in str(theirs.buttons) and "Cancel" in str(mine.buttons)
    )

    meetings = sandbox.zoom_control.meetings()
    assert len(meetings) == 1
    meeting = meetings[0]
    local_day = offered_date(day_label, OWNER_ZONE)
    expected = datetime(local_day.year, local_day.month, local_day.day, 10, tzinfo=ZoneInfo(OWNER_ZONE))
    assert meeting["start_time"] == expected.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert meeting["duration"] == 45 and meeting["timezone"] == OWNER_ZONE
    assert meeting["topic"] == "Maths with Carl" and meeting["join_url"] == join_url(mine)
    creates = [
        r for r in sandbox.zoom_control.requests() if r["method"] == "POST" and "meetings" in r["path"]
    ]
    assert len(creates) == 1 and creates[0]["json"]["start_time"].endswith("Z")
    assert not [r for r in sandbox.zoom_control.requests() if r["method"] == "DELETE"]
    assert "start_url" not in mine.text + theirs.text


def test_with_zoom_off_the_order_has_no_meeting_and_promises_none(sandbox: Sandbox, bot: BotProcess) -> None:
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    shop = create_service(owner, 30, "Quick call")
    placed = order(customer, shop.code)
    assert "No Zoom meeting" in placed.text and not has_join(placed)
    owners_card = owner.wait_for_text("Order #1")
    assert "No Zoom meeting" in owners_card.text and not has_join(owners_card)
    everything = customer.transcript() + owner.transcript()
    assert "being created" not in everything and "link" not in placed.text.lower()
    assert sandbox.zoom_control.requests() == []


def test_new_service_step_by_step_and_the_owner_menu(sandbox: Sandbox, bot: BotProcess) -> None:
    owner, stranger = person(sandbox, 11, "Olivia"), person(sandbox, 33, "Sam")
    owner.send("/start")
    owner.wait_for_text("/newservice")
    assert ("orders", "Your orders") in owner.commands()
    owner.send("/newservice")
    owner.wait_for_text("What is the service called")
    owner.send("Career coaching")
    durations = owner.wait_for_text("How long is one booking")
    owner.press(durations, "90 min")
    card = owner.wait_for_text("Share link")
    assert "Career coaching" in card.text and "90 min" in card.text and "Zoom: Off" in card.text
    assert [b.text for b in card.buttons[0]] == ["Zoom: Off", "Orders"]
    assert "t.me/sandbox_booking_bot?start=s_" in card.text

    def owner_menu() -> list[str] | None:  # set right after the card is sent
        names = [name for name, _ in owner.commands()]
        return names if "services" in names else None

    menu = eventually(owner_menu, 10, "the owner's command menu", interval=0.05)
    assert "services" in menu and "zoom" in menu
    stranger.send("/start")
    stranger.wait_for_text("/newservice")
    assert "zoom" not in [name for name, _ in stranger.commands()]
    owner.send("/services")
    owner.wait_for(
        lambda m: "Career coaching" in m.text and m.message_id > card.message_id, description="the card again"
    )


def test_a_slot_taken_meanwhile_is_refused_at_confirmation(sandbox: Sandbox, bot: BotProcess) -> None:
    owner, first, second = (
        person(sandbox, 11, "Olivia"),
        person(sandbox, 22, "Ann"),
        person(sandbox, 33, "Ben"),
    )
    shop = create_service(owner, 60, "Session")
    # Ben gets to the summary of the first free slot, Ann books it before he confirms.
    _, times = open_times(second, shop.code, day_index=1)
    slot = times.buttons[0][0].text
    summary = pick_time(second, times, slot)
    order(first, shop.code, day_index=1, time_label=slot)
    second.press(summary, "Confirm")
    answer = second.callback_answer()
    assert answer is not None and "just taken" in answer.text
    second.wait_for(lambda m: "Pick a day" in m.text, description="the days again")
    owner.wait_for_text("Order #1")
    assert "Order #2" not in owner.transcript()


def test_oauth_callback_refuses_missing_unknown_and_reused_states(sandbox: Sandbox, bot: BotProcess) -> None:
    owner = person(sandbox, 11, "Olivia")
    shop = create_service(owner, 30, "Call")
    for query in ["", "?code=abc", "?state=unknown&code=abc"]:
        page = httpx.get(f"{sandbox.bot_url}/zoom/oauth/callback{query}")
        assert page.status_code == 400 and "not connected" in page.text
    owner.press(shop.card, "Zoom: Off")
    invite = owner.wait_for_text("connect your Zoom account first")
    url = owner.press(invite, "Connect Zoom")
    assert url is not None
    first = sandbox.zoom_control.open_authorize_link(url)
    assert first.status_code == 200
    again = sandbox.zoom_control.open_authorize_link(url)
    assert again.status_code == 400 and "already used" in again.text
    owner.wait_for_text("Zoom is connected")


def test_declined_consent_stores_nothing_and_tells_the_owner(sandbox: Sandbox, bot: BotProcess) -> None:
    owner = person(sandbox, 11, "Olivia")
    shop = create_service(owner, 30, "Call")
    owner.press(shop.card, "Zoom: Off")
    url = owner.press(owner.wait_for_text("connect your Zoom account first"), "Connect Zoom")
    assert url is not None
    sandbox.zoom_control.decline_next_consent()
    page = sandbox.zoom_control.open_authorize_link(url)
    assert page.status_code == 400 and "declined" in page.text
    owner.wait_for_text("Connecting Zoom did not work")
    owner.send("/zoom")
    owner.wait_for_text("not connected")


@pytest.mark.bot_process  # kill -9
def test_a_restart_in_the_middle_of_ordering_loses_nothing(sandbox: Sandbox, bot: BotProcess) -> None:
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    shop = create_service(owner, 60, "Session")
    _, times = open_times(customer, shop.code, day_index=1)
    customer.press(times, times.buttons[0][0].text)
    customer.wait_for_text("What should the order be called")
    bot.kill()
    bot.start()
    customer.send("After the restart")
    summary = customer.wait_for_text("Please check your order")
    customer.press(summary, "Confirm")
    placed = customer.wait_for_text("Order #1")
    assert "After the restart" in placed.text
    greetings = [m for m in owner.bot_messages() if "Share link" in m.text]
    assert len(greetings) == 1  # no update was processed twice
