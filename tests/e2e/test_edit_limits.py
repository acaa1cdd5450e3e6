"""A customer's changes to one owner's orders are limited (CUSTOMER_EDITS per window); the owner never is.

One stranger must not use up the owner's daily Zoom writes with renames: past the limit the customer is
told to wait, and neither the order nor its Zoom meeting changes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.harness import BotInProcess, Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support import OWNER_ZONE
from tests.support.journeys import has_join, order, person, set_timezone, zoom_service
from tests.support.waiting import eventually

LIMIT = 2


pytestmark = pytest.mark.bot_env(CUSTOMER_EDITS=str(LIMIT), CUSTOMER_EDITS_WINDOW_SECONDS="3600")


@pytest.fixture
def limited_bot(bot: BotInProcess) -> BotInProcess:
    """The bot with a customer allowed LIMIT changes of one owner's orders an hour."""
    return bot


def meeting(sandbox: Sandbox, topic: str) -> dict[str, Any] | None:
    return next((m for m in sandbox.zoom_control.meetings() if m["topic"] == topic), None)


def patches_of(sandbox: Sandbox, meeting_id: object) -> int:
    return sum(
        1
        for r in sandbox.zoom_control.requests()
        if r["method"] == "PATCH" and r["path"].endswith(f"/meetings/{meeting_id}")
    )


def zoom_topic_becomes(sandbox: Sandbox, meeting_id: object, topic: str) -> None:
    eventually(
        lambda: any(m["id"] == meeting_id and m["topic"] == topic for m in sandbox.zoom_control.meetings()),
        20,
        f"the Zoom meeting renamed to {topic!r}",
    )


def rename(user: TelegramUser, card: SentMessage, name: str) -> None:
    user.press(card, "Rename")
    user.wait_for_text("Send the new name")
    user.send(name)
    user.press(user.wait_for_text("Rename Order"), "Confirm")
    user.wait_for_text("renamed to")


def refused(user: TelegramUser) -> str:
    answer = user.callback_answer(timeout=10)
    assert answer is not None and answer.show_alert, "the refusal is shown as an alert"
    return answer.text or ""


def test_a_customer_past_the_edit_limit_is_refused_others_and_the_owner_are_not(
    sandbox: Sandbox, limited_bot: BotInProcess
) -> None:
    owner, ann, ben = person(sandbox, 31, "Olivia"), person(sandbox, 32, "Ann"), person(sandbox, 33, "Ben")
    set_timezone(owner, OWNER_ZONE)
    shop = zoom_service(sandbox, owner, 60, "Session")
    first = order(ann, shop.code, day_index=1, time_label="10:00", name="Ann first")
    ann.wait_for(has_join, timeout=20, description="the Join button of Ann's first order")
    order(ben, shop.code, day_index=1, time_label="12:00", name="Ben only")
    ben_card = ben.wait_for(has_join, timeout=20, description="the Join button of Ben's order")
    third = order(ann, shop.code, day_index=1, time_label="14:00", name="Ann second")
    ann.wait_for(has_join, timeout=20, description="the Join button of Ann's second order")
    meetings = {topic: meeting(sandbox, topic) for topic in ("Ann first", "Ben only", "Ann second")}
    assert all(meetings.values()), sandbox.zoom_control.meetings()
    first_id, ben_id, third_id = (meetings[t]["id"] for t in ("Ann first", "Ben only", "Ann second"))  # type: ignore[index]

    rename(ann, first, "Ann renamed")  # edit 1 of 2
    ann.press(third, "Duration")  # asked while still under the limit, confirmed past it
    ann.press(ann.wait_for_text("new duration"), "90 min")
    duration_question = ann.wait_for_text("Change the duration")
    rename(ann, first, "Ann renamed again")  # edit 2 of 2
    zoom_topic_becomes(sandbox, first_id, "Ann renamed again")
    patches_before = patches_of(sandbox, first_id)

    ann.press(duration_question, "Confirm")
    assert "too often" in refused(ann) and "Order #3" in refused(ann)
    ann.press(first, "Rename")
    text = refused(ann)
    assert "Order #1 is unchanged" in text and "too often" in text, text
    assert re.search(r"again in \d+ min", text), text  # when the oldest counted edit leaves the window

    # Ben is not limited by Ann's edits; his change is also the barrier: the worker has run since.
    rename(ben, ben_card, "Ben renamed")
    zoom_topic_becomes(sandbox, ben_id, "Ben renamed")
    # The owner is never limited, not even on Ann's order.
    owner_card = next(
        m
        for m in reversed(owner.bot_messages())
        if "Order #1" in m.text and any(b.text == "Rename" for row in m.buttons for b in row)
    )
    rename(owner, owner_card, "Owner renamed")
    zoom_topic_becomes(sandbox, first_id, "Owner renamed")

    assert patches_of(sandbox, third_id) == 0, "a refused change made no Zoom call"
    assert patches_of(sandbox, first_id) == patches_before + 1, "only the owner's rename reached Zoom"
    third_meeting = next(m for m in sandbox.zoom_control.meetings() if m["id"] == third_id)
    assert third_meeting["duration"] == 60
    ann.send("/orders")
    listing = ann.wait_for(lambda m: "Order #3" in m.text and "Ann second" in m.text, 10, "Ann's order #3")
    assert "60 min" in listing.text and "90 min" not in listing.text, listing.text
