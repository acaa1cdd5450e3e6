"""Reminders before an order's start: both chats, the Join button, planned again on a reschedule, none
after a cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sandbox.harness import BotProcess, Sandbox, bot_environment
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.e2e.journeys import connect_zoom, create_service, has_join, join_url, person
from tests.e2e.reminder_steps import (
    SoonSlot,
    join_of,
    reminders,
    set_reminders,
    soon_slot,
    wait_for_reminders,
)
from tests.faults.steps import confirm, order_number


@pytest.fixture
def fast_reminders_bot(sandbox: Sandbox, database_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    """The real bot, with reminder offsets counted in seconds."""
    env = bot_environment(sandbox, database_url, REMINDER_MINUTE_SECONDS="1")
    process = BotProcess.in_folder(sandbox, env, tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def summary_at(customer: TelegramUser, code: str, slot: SoonSlot) -> SentMessage:
    customer.send(f"/start s_{code}")
    offer = customer.wait_for(lambda m: any(b.text == "Order" for r in m.buttons for b in r), 20, "Order")
    customer.press(offer, "Order")
    days = customer.wait_for_text("Pick a day", timeout=20)
    customer.press(days, slot.day_label)
    times = customer.wait_for_text("Pick a start time", timeout=20)
    customer.press(times, slot.time_label)
    customer.press(customer.wait_for_text("What should the order be called", timeout=20), "Skip")
    return customer.wait_for_text("Please check your order", timeout=20)


def test_reminders_come_in_both_chats_at_each_offset_with_the_join_button(
    sandbox: Sandbox, fast_reminders_bot: BotProcess, database_url: str
) -> None:
    slot = soon_slot()
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    owner.send(f"/timezone {slot.zone}")
    owner.wait_for_text(slot.zone)
    owner.send("/hours mon-sun 00:00-24:00")  # whatever weekday it is there, the soon slot is offered
    owner.wait_for_text("Your working hours")
    shop = create_service(owner, 30, "Session")
    connect_zoom(sandbox, shop)
    summary = summary_at(customer, shop.code, slot)
    set_reminders(database_url, [60, 100, 140], slot.start)
    card = confirm(customer, summary)
    link = join_url(customer.wait_for(lambda m: m.message_id == card.message_id and has_join(m), 20))
    assert link

    for chat in (customer, owner):
        wait_for_reminders(chat, 1, timeout=120)
    # The customer blocks the bot: their second reminder is dropped, not kept for later.
    customer.block_bot()
    wait_for_reminders(owner, 2, timeout=120)
    customer.unblock_bot()
    for chat, count in ((owner, 3), (customer, 2)):
        wait_for_reminders(chat, count, timeout=120)
        sent = reminders(chat)
        assert len(sent) == count, chat.transcript()
        for reminder in sent:
            assert f"Order #{order_number(card)} starts" in reminder.text
            assert f"{slot.time_label} ({slot.zone})" in reminder.text
            assert join_of(reminder) == link
            assert reminder.message_id != card.message_id and reminder.edits == 0  # a new message
    assert "failed for good" not in fast_reminders_bot.logs()


def test_a_reschedule_plans_reminders_again_and_a_cancel_stops_them(
    sandbox: Sandbox, fast_reminders_bot: BotProcess, database_url: str
) -> None:
    slot = soon_slot(last_start=time(17, 0))  # the next start is offered too
    later = slot.start.astimezone(ZoneInfo(slot.zone)) + timedelta(minutes=30)
    owner, carl, dora = (
        person(sandbox, 11, "Olivia"),
        person(sandbox, 22, "Carl"),
        person(sandbox, 33, "Dora"),
    )
    owner.send(f"/timezone {slot.zone}")
    owner.wait_for_text(slot.zone)
    owner.send("/hours mon-sun 00:00-24:00")  # whatever weekday it is there, the soon slot is offered
    owner.wait_for_text("Your working hours")
    shop = create_service(owner, 30, "Session")
    summary = summary_at(carl, shop.code, slot)
    # Offset B would remind of the first start 150 s from now; offset A reminds of a start 30 minutes
    # later 170 s from now (and was already past for the first start, so it was skipped there).
    set_reminders(database_url, [150, 170 - 30 * 60], slot.start)
    card = confirm(carl, summary)

    carl.press(card, "Reschedule")
    days = carl.wait_for_text("pick a new day", timeout=20)
    carl.press(days, slot.day_label)
    times = carl.wait_for_text("pick a new start time", timeout=20)
    carl.press(times, later.strftime("%H:%M"))
    carl.press(carl.wait_for_text("Move Order", timeout=20), "Confirm")
    carl.wait_for_text("rescheduled to", timeout=20)

    # Dora takes the freed first start and cancels: her reminder (offset B, 150 s) must not come either.
    dora_card = confirm(dora, summary_at(dora, shop.code, slot))
    dora.press(dora_card, "Cancel")
    dora.press(dora.wait_for_text("Cancel Order", timeout=20), "Confirm")
    dora.wait_for_text("cancelled", timeout=20)

    # Reminders go out in order of their time, so once the 170 s one has come, the 150 s ones would have.
    for chat in (carl, owner):
        wait_for_reminders(chat, 1, timeout=240)
    assert reminders(dora) == []
    for chat in (carl, owner):
        sent = reminders(chat)
        assert len(sent) == 1, chat.transcript()
        assert f"Order #{order_number(card)} starts" in sent[0].text
        assert f"{later.strftime('%H:%M')} ({slot.zone})" in sent[0].text
        assert join_of(sent[0]) is None  # no Zoom for this service: no Join button
