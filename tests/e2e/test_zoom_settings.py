"""New meetings follow the owner's own Zoom settings, read when Zoom is connected, not once per order."""

from __future__ import annotations

from sandbox.harness import BotProcess, Sandbox
from tests.support.journeys import has_join, order, person, zoom_service


def test_meetings_follow_the_owners_passcode_and_waiting_room_settings(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    sandbox.zoom_control.change_user_settings(
        "owner@example.com",
        {
            "schedule_meeting": {"require_password_for_scheduled_meetings": False},
            "in_meeting": {"waiting_room": True},
            "recording": {"auto_recording": "cloud"},
        },
    )
    owner = person(sandbox, 11, "Olivia")
    shop = zoom_service(sandbox, owner, 30, "Call")
    reads = [r for r in sandbox.zoom_control.requests() if r["path"] == "/v2/users/me/settings"]
    assert len(reads) == 1 and reads[0]["status"] == 200  # read once, when Zoom was connected

    first, second = person(sandbox, 22, "Carl"), person(sandbox, 33, "Dora")
    order(first, shop.code, day_index=1)
    first.wait_for(has_join, timeout=20, description="the Join button")
    meeting = sandbox.zoom_control.meetings()[0]
    assert meeting["password"] == "" and "?pwd=" not in meeting["join_url"]
    assert meeting["settings"]["waiting_room"] is True and meeting["settings"]["auto_recording"] == "cloud"
    create = next(
        r for r in sandbox.zoom_control.requests() if r["method"] == "POST" and "meetings" in r["path"]
    )
    assert create["json"]["default_password"] is False
    assert create["json"]["settings"] == {"waiting_room": True, "auto_recording": "cloud"}

    # The owner turns passcodes back on in Zoom: the bot keeps what it read today (at most one read a day).
    sandbox.zoom_control.change_user_settings(
        "owner@example.com", {"schedule_meeting": {"require_password_for_scheduled_meetings": True}}
    )
    order(second, shop.code, day_index=2)
    second.wait_for(has_join, timeout=20, description="the Join button")
    api_calls = [r for r in sandbox.zoom_control.requests() if r["path"].startswith("/v2/")]
    assert len([r for r in api_calls if r["path"] == "/v2/users/me/settings"]) == 1
    assert len([r for r in api_calls if r["method"] == "POST"]) == 2
    assert all(m["settings"]["waiting_room"] for m in sandbox.zoom_control.meetings())

    card = first.wait_for(has_join)
    first.press(card, "Rename")
    first.wait_for_text("Send the new name")
    first.send("Renamed call")
    first.press(first.wait_for_text("Rename Order"), "Confirm")
    first.wait_for(lambda m: "Order #1 changed" in m.text, timeout=20, description="the change notice")
    patch = next(r for r in sandbox.zoom_control.requests() if r["method"] == "PATCH")
    assert set(patch["json"]) == {"topic", "start_time", "duration"}
