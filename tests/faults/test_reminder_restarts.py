"""`kill -9` at the moment a reminder is due: after the restart it comes once in each chat, none lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.harness import BotProcess, Sandbox
from tests.support.journeys import join_url
from tests.support.reminders import REMINDER_SETTINGS, reminders, soon_zoom_order, wait_for_reminders

# A service's reminder offsets count seconds; kill -9 needs a real process.
pytestmark = [pytest.mark.bot_env(**REMINDER_SETTINGS), pytest.mark.bot_process]


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_kill_9_when_a_reminder_is_due_sends_it_once_after_the_restart(
    sandbox: Sandbox, bot: BotProcess, database_url: str
) -> None:
    placed = soon_zoom_order(sandbox, database_url, [12, 30])
    owner, customer, link, (first_due, _) = placed.owner, placed.customer, placed.link, placed.due

    sleep_until(first_due - timedelta(seconds=0.3))  # the worker looks for due jobs every second
    bot.kill()
    assert reminders(customer) == [] and reminders(owner) == []
    bot.start()  # the reminder is now overdue, and the meeting has not started: it comes late

    # The second reminder is the barrier: reminders go out in order of their time.
    for chat in (customer, owner):
        wait_for_reminders(chat, 2, timeout=90)
        sent = reminders(chat)
        assert len(sent) == 2, chat.transcript()
        assert all(join_url(message) == link for message in sent)
