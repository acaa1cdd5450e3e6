"""Book for a client: the owner places the order, the meeting is created, the client claims the invite."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.harness import BotProcess, Sandbox
from tests.support import OWNER_ZONE
from tests.support.journeys import (
    has_join,
    join_url,
    offered_date,
    person,
    set_timezone,
    zoom_service,
)


def test_an_order_for_a_client_gets_its_meeting_and_its_first_opener_becomes_the_customer(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    owner = person(sandbox, 11, "Olivia")
    set_timezone(owner, OWNER_ZONE)
    shop = zoom_service(sandbox, owner, 45, "Session")

    owner.press(shop.card, "Book for a client")
    days = owner.wait_for_text("for a client. Pick a day")
    last = days.buttons[-1][-1].text
    day = offered_date(last, OWNER_ZONE)
    today = datetime.now(UTC).astimezone(ZoneInfo(OWNER_ZONE)).date()
    assert day > today + timedelta(days=60)  # Horizon (14 days) limits customers, not the owner
    owner.press(days, last)
    owner.press(owner.wait_for_text("Pick a start time"), "10:00")
    owner.wait_for_text("What is the client's name")
    owner.send("Carl Client")
    summary = owner.wait_for_text("Please check the booking")
    assert "Session — Carl Client" in summary.text and "Zoom meeting will be created" in summary.text
    owner.press(summary, "Confirm")
    card = owner.wait_for(
        lambda m: m.message_id == summary.message_id and has_join(m),
        timeout=20,
        description="the Join button",
    )
    assert "Order #1" in card.text and "Client: Carl Client (has not opened the invite yet)" in card.text
    found = re.search(r"https://t\.me/sandbox_booking_bot\?start=o_([A-Za-z0-9_-]+)", card.text)
    assert found is not None, card.text
    code = found.group(1)
    assert len(code) >= 12 and "1" != code

    meetings = sandbox.zoom_control.meetings()
    assert len(meetings) == 1 and meetings[0]["topic"] == "Session — Carl Client"
    expected = datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo(OWNER_ZONE)).astimezone(UTC)
    assert meetings[0]["start_time"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert meetings[0]["duration"] == 45

    owner.send(f"/start o_{code}")
    owner.wait_for_text("This invite link is for your client")

    client = person(sandbox, 22, "Carl")
    client.send(f"/start o_{code}")
    mine = client.wait_for(lambda m: "Order #1" in m.text and has_join(m), timeout=15, description="the card")
    assert join_url(mine) == join_url(card) and "Session — Carl Client" in mine.text
    assert "Cancel" in str(mine.buttons) and "Reject" not in str(mine.buttons)
    owner.wait_for_text("Carl opened your invite")
    claimed = owner.wait_for(lambda m: m.message_id == card.message_id and "Customer: Carl" in m.text)
    assert "start=o_" not in claimed.text

    client.send(f"/start o_{code}")
    client.wait_for_text("Order #1 is already yours")
    for stranger_id, name in ((33, "Mallory"), (44, "Trudy")):
        stranger = person(sandbox, stranger_id, name)
        stranger.send(f"/start o_{code}")
        refused = stranger.wait_for_text("already has its customer")
        seen = stranger.transcript()
        assert (
            "Order #" not in seen
            and "Carl" not in seen
            and "10:00" not in seen
            and "zoom" not in seen.lower()
        )
        assert not has_join(refused)
    nobody = person(sandbox, 55, "Nina")
    nobody.send("/start o_unknownCode123")
    nobody.wait_for_text("This invite link is not valid")

    owner.press(claimed, "Reschedule")
    new_days = owner.wait_for_text("pick a new day")
    owner.press(new_days, new_days.buttons[0][1].text)  # never today, whose 11:00 may be past
    owner.press(owner.wait_for_text("pick a new start time"), "11:00")
    owner.press(owner.wait_for_text("Move Order"), "Confirm")
    owner.wait_for_text("rescheduled to")
    told = client.wait_for(lambda m: "Rescheduled" in m.text, timeout=20, description="the reschedule notice")
    assert "11:00" in told.text and join_url(told) == join_url(card)
