"""Reminders before an order's start: both chats, the Join button, planned again on a reschedule, none
after a cancel."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox.harness import BotInProcess, Sandbox
from sandbox.telegram.client import TelegramControl
from tests.support.journeys import confirm, join_url, order_number, person
from tests.support.reminders import (
    REMINDER_SETTINGS,
    reminders,
    set_reminders,
    soon_service,
    soon_slot,
    soon_zoom_order,
    summary_at,
    wait_for_reminders,
)
from tests.support.waiting import barrier, eventually

# A service's reminder offsets count half seconds, not minutes.
pytestmark = pytest.mark.bot_env(**REMINDER_SETTINGS)


def test_reminders_come_in_both_chats_at_each_offset_with_the_join_button(
    sandbox: Sandbox, bot: BotInProcess, database_url: str
) -> None:
    # The first reminder leaves time to confirm and create the meeting (under a second on an idle machine);
    # the next ones leave time to see the one before and block or unblock the bot.
    placed = soon_zoom_order(sandbox, database_url, [5, 7.5, 10])
    owner, customer, slot, card, link = placed.owner, placed.customer, placed.slot, placed.card, placed.link
    assert datetime.now(UTC) < placed.due[0], "the order took longer to place than its first reminder's lead"

    wait_for_reminders(customer, 1, timeout=30)
    # The customer blocks the bot: their second reminder is dropped, not kept for later.
    customer.block_bot()
    assert datetime.now(UTC) < placed.due[1], "blocked after the second reminder was due"
    wait_for_reminders(owner, 2, timeout=30)
    with TelegramControl(sandbox.telegram_server.url) as telegram:
        eventually(
            lambda: any(
                c.status == 403 and c.params.get("chat_id") in (customer.user_id, str(customer.user_id))
                for c in telegram.calls("sendMessage")
            ),
            30,
            "the customer's second reminder refused",
        )
    customer.unblock_bot()
    assert datetime.now(UTC) < placed.due[2], "unblocked after the third reminder was due"
    for chat in (owner, customer):
        wait_for_reminders(chat, 2 if chat is customer else 3, timeout=30)
    # A refused reminder kept for later would be due again within seconds: the queue drains first.
    barrier(customer, database_url)
    for chat, count in ((owner, 3), (customer, 2)):
        sent = reminders(chat)
        assert len(sent) == count, chat.transcript()
        for reminder in sent:
            assert f"Order #{order_number(card)} starts" in reminder.text
            assert f"{slot.time_label} ({slot.zone})" in reminder.text
            assert join_url(reminder) == link
            assert reminder.message_id != card.message_id and reminder.edits == 0  # a new message
    assert "failed for good" not in bot.logs()


def test_a_reschedule_plans_reminders_again_and_a_cancel_stops_them(
    sandbox: Sandbox, bot: BotInProcess, database_url: str
) -> None:
    slot = soon_slot(last_start=time(17, 0))  # the next start is offered too
    later = slot.start.astimezone(ZoneInfo(slot.zone)) + timedelta(minutes=30)
    shop = soon_service(sandbox, slot)
    owner, carl, dora = shop.owner, person(sandbox, 22, "Carl"), person(sandbox, 33, "Dora")
    summary = summary_at(carl, shop.code, slot)
    # Offset B would remind of the first start 8 s from now, time enough for the steps below (about 2 s on
    # an idle machine); offset A reminds of a start 30 minutes later 9 s from now (and was already past
    # for the first start, so it was skipped there).
    _, first_b = set_reminders(database_url, [8, 9 - 30 * 60], slot.start)
    card = confirm(carl, summary)

    carl.press(card, "Reschedule")
    days = carl.wait_for_text("pick a new day", timeout=20)
    carl.press(days, slot.day_label)
    times = carl.wait_for_text("pick a new start time", timeout=20)
    carl.press(times, later.strftime("%H:%M"))
    carl.press(carl.wait_for_text("Move Order", timeout=20), "Confirm")
    carl.wait_for_text("rescheduled to", timeout=20)

    # Dora takes the freed first start and cancels: her reminder (offset B) must not come either.
    dora_card = confirm(dora, summary_at(dora, shop.code, slot))
    dora.press(dora_card, "Cancel")
    dora.press(dora.wait_for_text("Cancel Order", timeout=20), "Confirm")
    dora.wait_for_text("cancelled", timeout=20)
    assert datetime.now(UTC) < first_b, "the steps took longer than offset B's lead"

    for chat in (carl, owner):
        wait_for_reminders(chat, 1, timeout=30)
    # Offset B's reminders were due before A's: once the queue has drained, any that was still planned
    # has come.
    barrier(dora, database_url)
    assert reminders(dora) == []
    for chat in (carl, owner):
        sent = reminders(chat)
        assert len(sent) == 1, chat.transcript()
        assert f"Order #{order_number(card)} starts" in sent[0].text
        assert f"{later.strftime('%H:%M')} ({slot.zone})" in sent[0].text
        assert join_url(sent[0]) is None  # no Zoom for this service: no Join button
