"""`kill -9` at the moment a reminder is due: after the restart it comes once in each chat, none lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.harness import BotProcess, Sandbox, bot_environment
from tests.e2e.journeys import connect_zoom, create_service, has_join, join_url, person
from tests.e2e.reminder_steps import join_of, reminders, set_reminders, soon_slot, wait_for_reminders
from tests.e2e.test_reminders import summary_at
from tests.faults.steps import confirm


@pytest.fixture
def fast_reminders_bot(sandbox: Sandbox, database_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    env = bot_environment(sandbox, database_url, REMINDER_MINUTE_SECONDS="1")
    process = BotProcess.in_folder(sandbox, env, tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_kill_9_when_a_reminder_is_due_sends_it_once_after_the_restart(
    sandbox: Sandbox, fast_reminders_bot: BotProcess, database_url: str
) -> None:
    slot = soon_slot()
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    owner.send(f"/timezone {slot.zone}")
    owner.wait_for_text(slot.zone)
    shop = create_service(owner, 30, "Session")
    connect_zoom(sandbox, shop)
    summary = summary_at(customer, shop.code, slot)
    first_due, _ = set_reminders(database_url, [35, 90], slot.start)
    card = confirm(customer, summary)
    link = join_url(customer.wait_for(lambda m: m.message_id == card.message_id and has_join(m), 20))

    sleep_until(first_due - timedelta(seconds=0.3))  # the worker looks for due jobs every second
    fast_reminders_bot.kill()
    assert reminders(customer) == [] and reminders(owner) == []
    fast_reminders_bot.start()  # the reminder is now overdue, and the meeting has not started: it comes late

    # The second reminder is the barrier: reminders go out in order of their time.
    for chat in (customer, owner):
        wait_for_reminders(chat, 2, timeout=90)
        sent = reminders(chat)
        assert len(sent) == 2, chat.transcript()
        assert all(join_of(message) == link for message in sent)
