"""`kill -9` at the moment a reminder is due: after the restart it comes once in each chat, none lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.harness import BotProcess, Sandbox
from tests.support.journeys import join_url
from tests.support.reminders import QUICK_MINUTES, reminders, soon_zoom_order, wait_for_reminders

# A service's reminder offsets count half seconds; kill -9 needs a real process. The worker looks for due
# jobs every second, as in production, so the kill just before a reminder is due comes before its claim.
pytestmark = [pytest.mark.bot_env(**QUICK_MINUTES), pytest.mark.bot_process]


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_kill_9_when_a_reminder_is_due_sends_it_once_after_the_restart(
    sandbox: Sandbox, bot: BotProcess, database_url: str
) -> None:
    # The first reminder leaves time to place the order (about a second on an idle machine), the second
    # time to restart the bot after the first was due (about 1.5 s).
    placed = soon_zoom_order(sandbox, database_url, [5, 12])
    owner, customer, link, (first_due, second_due) = placed.owner, placed.customer, placed.link, placed.due
    assert datetime.now(UTC) < first_due, "the order took longer to place than its first reminder's lead"

    sleep_until(first_due - timedelta(seconds=0.3))  # the worker looks for due jobs every second
    bot.kill()
    assert reminders(customer) == [] and reminders(owner) == []
    bot.start()  # the reminder is now overdue, and the meeting has not started: it comes late
    # Restarted later than the second reminder's time, the first would rightly be dropped as overtaken.
    assert datetime.now(UTC) < second_due, "the restart took longer than the gap between the reminders"

    # The second reminder is the barrier: reminders go out in order of their time.
    for chat in (customer, owner):
        wait_for_reminders(chat, 2, timeout=90)
        sent = reminders(chat)
        assert len(sent) == 2, chat.transcript()
        assert all(join_url(message) == link for message in sent)
