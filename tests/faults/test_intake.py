"""Intake (issue 9): one flooding chat never keeps another chat's updates from being fetched and handled;
fetched updates are stored before they are confirmed, and long lists come a page at a time."""

from __future__ import annotations

import time

import pytest

from bot import texts
from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import TelegramControl, TelegramUser
from tests.support.crowds import slot
from tests.support.journeys import create_service, order_number, person, reach_summary
from tests.support.waiting import eventually

CHAT_PERIOD = 1.0  # TELEGRAM_CHAT_PERIOD_SECONDS: one new message per chat per second
BACKLOG = 10  # INTAKE_CHAT_BACKLOG


# One new message per chat per CHAT_PERIOD, and at most BACKLOG updates of a chat waiting.
CAPPED = pytest.mark.bot_env(
    TELEGRAM_CHAT_BURST="1", TELEGRAM_CHAT_PERIOD_SECONDS=str(CHAT_PERIOD), INTAKE_CHAT_BACKLOG=str(BACKLOG)
)


# One chat handled at a time, and a new message per chat every TURN_PERIOD: a flooding chat's next answer
# waits that long for its chat's window, holding the one place meanwhile.
TURN_PERIOD = 3.0
ONE_CHAT_AT_A_TIME = pytest.mark.bot_env(
    INTAKE_CHATS="1", TELEGRAM_CHAT_BURST="1", TELEGRAM_CHAT_PERIOD_SECONDS=str(TURN_PERIOD)
)


def answers(user: TelegramUser, text: str) -> int:
    return sum(1 for m in user.bot_messages() if text in m.text)


@CAPPED
def test_a_flooding_chat_neither_delays_another_chat_nor_queues_its_whole_flood(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    flooder, other = person(sandbox, 7001, "Flooder"), person(sandbox, 7002, "Other")
    for n in range(150):  # more than one getUpdates batch (100), each answered at one a second
        flooder.send(f"forwarded message {n}")
    started = time.monotonic()
    other.send("/help")
    eventually(lambda: other.bot_messages(), 40, "the other user's answer")
    waited = time.monotonic() - started
    assert waited < 3 * CHAT_PERIOD, f"the other user waited {waited:.1f}s behind another chat's flood"

    eventually(lambda: answers(flooder, texts.SLOW_DOWN[:40]), 30, "the request to slow down")
    eventually(lambda: answers(flooder, "didn't understand") >= BACKLOG, 60, "the flood's first answers")
    flooder.send("/help")  # the barrier: answered after everything the chat still had waiting
    eventually(lambda: answers(flooder, "/newservice"), 60, "the answer to /help after the flood")
    assert answers(flooder, texts.SLOW_DOWN[:40]) == 1
    handled = answers(flooder, "didn't understand")
    assert handled <= 2 * BACKLOG, f"{handled} of 150 flooded messages were handled (backlog {BACKLOG})"


@CAPPED
@pytest.mark.bot_process  # kill -9 needs a real process
def test_stored_updates_are_handled_after_kill_9(sandbox: Sandbox, bot: BotProcess) -> None:
    user = person(sandbox, 7101, "Patient")
    zones = [f"Nowhere/Place{n}" for n in range(8)]
    for zone in zones:
        user.send(f"/timezone {zone}")
    eventually(lambda: any(zones[0] in m.text for m in user.bot_messages()), 20, "the first answer")
    bot.kill()  # the rest were fetched, stored and confirmed; Telegram will not send them again
    bot.start()
    for zone in zones:
        eventually(
            lambda z=zone: any(z in m.text for m in user.bot_messages()), 40, f"the answer about {zone}"
        )


@pytest.mark.bot_env(TELEGRAM_CHAT_BURST="100", TELEGRAM_CHAT_PERIOD_SECONDS="1")
def test_services_come_a_page_at_a_time(sandbox: Sandbox, bot: BotProcess) -> None:
    owner = person(sandbox, 7201, "Prolific")
    for n in range(23):
        create_service(owner, 30, f"Service {n:02d}")
    seen = len(owner.bot_messages())
    owner.send("/services")
    more = owner.wait_for(lambda m: "13 more" in m.text, 20, "the first page's More button")
    first_page = [m for m in owner.bot_messages()[seen:] if "Share link" in m.text]
    assert len(first_page) == 10
    seen = len(owner.bot_messages())
    owner.press(more, "More services")
    more = owner.wait_for(lambda m: "3 more" in m.text and m.message_id > more.message_id, 20, "page 2")
    seen_now = len(owner.bot_messages())
    owner.press(more, "More services")
    owner.wait_for(lambda m: "Service 22" in m.text and m.message_id > more.message_id, 20, "the last page")
    cards = [m for m in owner.bot_messages()[seen:] if "Share link" in m.text]
    assert len(cards) == 13, f"{len(cards)} cards on pages 2 and 3"
    assert seen_now > seen


# Regression: the polling offset stuck before the 101st update.
@pytest.mark.bot_env(TELEGRAM_CHAT_PERIOD_SECONDS="0.05")  # the per-chat limit is not under test here
def test_the_bot_keeps_answering_after_a_hundred_updates(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    """getUpdates returns at most 100 updates; the polling offset must move past handled ones."""
    customer = person(sandbox, 100, "Carl")
    for n in range(110):
        customer.send("/help")
        customer.wait_for(
            lambda m: "/newservice" in m.text, timeout=10, description=f"the answer to /help #{n + 1}"
        )
    idle = len(telegram.calls("getUpdates"))
    time.sleep(3)  # nothing happens: the bot should sit in one long poll
    assert len(telegram.calls("getUpdates")) - idle <= 2, "getUpdates is called in a tight loop"


@ONE_CHAT_AT_A_TIME
def test_chats_take_turns_update_by_update_when_few_are_served_at_once(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    """With INTAKE_CHATS 1 another chat waits for one of a flooding chat's updates, not for its flood; the
    flooding chat's updates are still handled in order."""
    flooder, other = person(sandbox, 7301, "Flooder"), person(sandbox, 7302, "Other")
    zones = [f"Nowhere/Turn{n}" for n in range(4)]
    for zone in zones:
        flooder.send(f"/timezone {zone}")  # each answer a new message: one every TURN_PERIOD
    eventually(lambda: answers(flooder, zones[0]), 20, "the flood's first answer")
    started = time.monotonic()
    other.send("/help")
    eventually(lambda: other.bot_messages(), 20, "the other user's answer")
    waited = time.monotonic() - started
    assert waited < 2 * TURN_PERIOD, f"the other user waited {waited:.1f}s behind another chat's updates"
    eventually(lambda: answers(flooder, zones[-1]), 6 * TURN_PERIOD, "the flood's last answer")
    said = [next(n for n, zone in enumerate(zones) if zone in m.text) for m in flooder.bot_messages()]
    assert said == sorted(said), f"the flooding chat's answers came out of order: {said}"


@ONE_CHAT_AT_A_TIME
def test_a_confirm_press_is_handled_before_other_chats_updates_that_came_first(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    """What is left of an order after Confirm is quick to finish: the press goes before the updates of
    other chats waiting for a place (here the one place is held by a chat waiting out its window)."""
    shop = create_service(person(sandbox, 7401, "Owner"), 30, "Quick call")
    buyer, asker, flooder = (
        person(sandbox, 7402 + n, name) for n, name in enumerate(("Buyer", "Asker", "Fl"))
    )
    day, label = slot(0)
    summary = reach_summary(buyer, shop.code, day, label)
    for n in range(3):
        flooder.send(f"/timezone Nowhere/Hold{n}")
    eventually(lambda: answers(flooder, "Nowhere/Hold0"), 20, "the flood's first answer")
    # The flooder's next update waits TURN_PERIOD for its window, in the one place; these two wait in line.
    asker.send("/help")
    buyer.press(summary, "Confirm")
    card = buyer.wait_for(lambda m: order_number(m) is not None, 6 * TURN_PERIOD, "the order card")
    asker.wait_for(lambda m: "/newservice" in m.text, 6 * TURN_PERIOD, "the answer to /help")
    calls = telegram.calls()
    card_at = next(
        c.at for c in calls if c.params.get("chat_id") == str(buyer.user_id) and "Order #" in str(c.params)
    )
    help_at = next(c.at for c in calls if c.params.get("chat_id") == str(asker.user_id))
    assert card_at < help_at, "the Confirm press waited behind another chat's /help that came before it"
    assert card.message_id == summary.message_id
