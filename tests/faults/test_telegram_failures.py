"""Telegram failing the bot: flood control, a customer who blocked the bot, edits that change nothing."""

from __future__ import annotations

import pytest

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import BotCall, TelegramControl
from tests.support.crowds import customers, owner_cards, slot
from tests.support.journeys import (
    Shop,
    confirm,
    has_join,
    join_url,
    open_times,
    person,
    reach_summary,
    texts_of,
)
from tests.support.observe import CREATE_PATH
from tests.support.waiting import barrier, eventually, stays_the_same

SORRY = "something went wrong"
WRITES = ("sendMessage", "editMessageText", "editMessageReplyMarkup")


def sends_to(telegram: TelegramControl, chat_id: int) -> list[BotCall]:
    return [c for c in telegram.calls("sendMessage") if c.params.get("chat_id") in (chat_id, str(chat_id))]


def calls_to(telegram: TelegramControl, chat_id: int, status: int) -> list[BotCall]:
    return [
        c
        for c in telegram.calls()
        if c.params.get("chat_id") in (chat_id, str(chat_id)) and c.status == status
    ]


def test_flood_control_on_send_message_delays_the_message_but_it_arrives_once(
    sandbox: Sandbox, shop: Shop, telegram: TelegramControl
) -> None:
    customer = customers(sandbox, 1, 100)[0]
    day, label = slot(0)
    summary = reach_summary(customer, shop.code, day, label)
    # More 429s than the bot retries in place: the delivery job itself must come back later.
    telegram.fail_next("sendMessage", status=429, retry_after=2, count=4)
    card = confirm(customer, summary)

    owners = shop.owner.wait_for(has_join, timeout=40, description="the owner's order with the Join button")
    mine = customer.wait_for(has_join, timeout=20, description="the customer's Join button")
    assert join_url(owners) == join_url(mine) and mine.message_id == card.message_id
    assert len(owner_cards(shop.owner)) == 1
    assert len([m for m in shop.owner.bot_messages() if m.text.startswith("Order #1 ·")]) == 1
    attempts = sends_to(telegram, shop.owner.user_id)
    refused = [c for c in attempts if c.status == 429]
    assert len(refused) == 4, [(c.status, c.at) for c in attempts]
    for before, after in zip(attempts, attempts[1:], strict=False):
        if before.status == 429:  # every retry waited the retry_after Telegram asked for
            assert after.at - before.at >= 2 - 0.05, [(c.status, c.at) for c in attempts]
    assert not texts_of(customer, SORRY) and not texts_of(shop.owner, SORRY)


def test_a_customer_who_blocked_the_bot_does_not_stop_the_owner_or_cause_retries(
    sandbox: Sandbox, shop: Shop, telegram: TelegramControl, database_url: str
) -> None:
    owner = shop.owner
    customer = customers(sandbox, 1, 100)[0]
    sandbox.zoom_control.fault("POST", CREATE_PATH, "delay", count=1, seconds=2)
    day, label = slot(0)
    confirm(customer, reach_summary(customer, shop.code, day, label))
    customer.block_bot()  # before the meeting exists

    owners = owner.wait_for(has_join, timeout=30, description="the owner's order with the Join button")
    owner.press(owners, "Rename")
    owner.wait_for_text("Send the new name")
    owner.send("Renamed while blocked")
    owner.press(owner.wait_for_text("Rename Order"), "Confirm")
    told = owner.wait_for(lambda m: "Order #1 changed" in m.text, timeout=30, description="the change notice")
    assert "Renamed while blocked" in told.text and join_url(told) == join_url(owners)

    # The customer's notice goes out on its own job, maybe after the owner's: wait until it was tried.
    refused = eventually(
        lambda: [c for c in sends_to(telegram, customer.user_id) if c.status == 403],
        30,
        "the change notice to the customer tried",
    )
    assert len(refused) == 1, "the change notice to the customer was tried once and dropped"
    # Every later event may try its own edit of the customer's card once; nothing is retried.
    blocked = stays_the_same(
        lambda: len(calls_to(telegram, customer.user_id, status=403)), owner, database_url
    )
    assert blocked <= 6, calls_to(telegram, customer.user_id, status=403)
    assert not texts_of(owner, SORRY)


def test_an_edit_that_changes_nothing_is_not_an_error(
    sandbox: Sandbox, bot: BotProcess, shop: Shop, telegram: TelegramControl
) -> None:
    customer = person(sandbox, 100, "Carl")
    _, times = open_times(customer, shop.code, day_index=1)
    back = times.button("Other days").callback_data
    assert back is not None
    # A double tap: the second press changes nothing, whether the first one's edit showed before it or not.
    customer.press_data(times.message_id, back)
    first_press = customer._since  # the emulator's change counter at the first press
    customer.press_data(times.message_id, back)

    def not_modified() -> list[BotCall]:
        return [c for c in telegram.calls("editMessageText") if "not modified" in (c.description or "")]

    eventually(not_modified, 10, "Telegram answering 'message is not modified'")
    again = next(m for m in customer.bot_messages() if m.message_id == times.message_id)
    assert "Pick a day" in again.text and again.raw["seq"] > first_press, customer.transcript()
    customer.press(again, again.buttons[0][1].text)
    customer.press(customer.wait_for_text("Pick a start time"), slot(0)[1])
    customer.press(customer.wait_for_text("What should the order be called"), "Skip")
    card = confirm(customer, customer.wait_for_text("Please check your order"))

    mine = customer.wait_for(lambda m: m.message_id == card.message_id and has_join(m), timeout=30)
    assert join_url(mine) == join_url(shop.owner.wait_for(has_join, timeout=20))
    assert not texts_of(customer, SORRY) and not texts_of(shop.owner, SORRY)
    assert "Handler failed" not in bot.logs() and "crashed" not in bot.logs()


def test_each_card_of_an_order_is_written_only_when_what_it_shows_changes(
    sandbox: Sandbox, shop: Shop, telegram: TelegramControl, database_url: str
) -> None:
    customer = customers(sandbox, 1, 100)[0]
    day, label = slot(0)
    card = confirm(customer, reach_summary(customer, shop.code, day, label))
    assert "Order #1" in card.text  # confirmed at once, before the meeting exists
    customer.wait_for(lambda m: m.message_id == card.message_id and has_join(m), timeout=20)
    shop.owner.wait_for(has_join, timeout=20, description="the owner's order with the Join button")
    barrier(customer, database_url)  # every refresh queued so far has run

    def card_writes(chat_id: int) -> list[BotCall]:
        return [
            c
            for c in telegram.calls()
            if c.method in WRITES
            and c.params.get("chat_id") in (chat_id, str(chat_id))
            and "Order #1" in str(c.params.get("text"))
        ]

    assert not [c for c in telegram.calls() if "not modified" in (c.description or "")]
    # The summary became the card ("being created") as soon as Telegram let the chat have another edit,
    # then one edit brought the link; or, when the chat's limit held the first edit until the meeting was
    # there, one edit did both.
    customers_card = card_writes(customer.user_id)
    assert [(c.method, c.status) for c in customers_card] in (
        [("editMessageText", 200)] * 2,
        [("editMessageText", 200)],
    )
    assert has_join_markup(customers_card[-1]) and not any(map(has_join_markup, customers_card[:-1]))
    assert len(customers_card) == 1 or "being created" in str(customers_card[0].params["text"])
    # The owner's card waited the moment the meeting took, and came once, with the link.
    owners_card = card_writes(shop.owner.user_id)
    assert [(c.method, c.status) for c in owners_card] == [("sendMessage", 200)]
    assert has_join_markup(owners_card[0])


# The customer's chat never waits for its limit here: Confirm's handler renders the card itself.
@pytest.mark.bot_env(TELEGRAM_CHAT_BURST="1000")
def test_a_card_the_handler_renders_while_the_meeting_arrives_is_edited_once_per_change(
    sandbox: Sandbox, shop: Shop, telegram: TelegramControl, database_url: str
) -> None:
    """Confirm's handler turns the summary into the card while the meeting arrives and refreshes the card:
    with Telegram slow to answer edits, both edits are on their way at once. The refresh waits for the
    handler's own record of its edit, so no edit repeats what the card shows, and the card ends with the
    link."""
    customer = customers(sandbox, 1, 100)[0]
    day, label = slot(0)
    summary = reach_summary(customer, shop.code, day, label)
    telegram.set_delay(3, "editMessageText")  # longer than the meeting takes to come
    card = confirm(customer, summary)
    mine = customer.wait_for(lambda m: m.message_id == card.message_id and has_join(m), timeout=30)
    telegram.set_delay(0, "editMessageText")
    barrier(customer, database_url)  # every refresh queued so far has run
    assert join_url(mine) == join_url(shop.owner.wait_for(has_join, timeout=20))
    edits = [
        (c.status, has_join_markup(c))
        for c in calls_to(telegram, customer.user_id, 200) + calls_to(telegram, customer.user_id, 400)
        if c.method == "editMessageText" and "Order #1" in str(c.params.get("text"))
    ]
    assert sorted(edits) == [(200, False), (200, True)]


@pytest.mark.bot_env(TELEGRAM_CHAT_BURST="1000")
def test_an_owners_card_for_a_client_is_edited_once_per_change_while_the_meeting_arrives(
    sandbox: Sandbox, shop: Shop, telegram: TelegramControl, database_url: str
) -> None:
    """As above, for the card that Confirm turns an owner's booking for a client into."""
    owner = shop.owner
    owner.press(shop.card, "Book for a client")
    days = owner.wait_for_text("for a client. Pick a day")
    owner.press(days, days.buttons[0][0].text)
    times = owner.wait_for_text("Pick a start time")
    owner.press(times, times.buttons[0][0].text)
    owner.wait_for_text("What is the client's name")
    owner.send("Carl Client")
    summary = owner.wait_for_text("Please check the booking")
    telegram.set_delay(3, "editMessageText")  # longer than the meeting takes to come
    owner.press(summary, "Confirm")
    owner.wait_for(lambda m: m.message_id == summary.message_id and has_join(m), timeout=30)
    telegram.set_delay(0, "editMessageText")
    barrier(owner, database_url)
    edits = [
        (c.status, has_join_markup(c))
        for c in calls_to(telegram, owner.user_id, 200) + calls_to(telegram, owner.user_id, 400)
        if c.method == "editMessageText" and "Order #1" in str(c.params.get("text"))
    ]
    assert sorted(edits) == [(200, False), (200, True)]


def has_join_markup(call: BotCall) -> bool:
    return "Join a meeting" in str(call.params.get("reply_markup"))


# The owner's card goes out at once (no wait for the meeting), Zoom's create is slow but answers, and
# Telegram answers the card's send only after the meeting is there.
@pytest.mark.bot_env(OWNER_CARD_SETTLE_SECONDS="0", ZOOM_TIMEOUT_SECONDS="20")
def test_an_owner_card_rendered_before_the_meeting_and_sent_after_it_gets_the_link(
    sandbox: Sandbox, shop: Shop, telegram: TelegramControl, database_url: str
) -> None:
    customer = customers(sandbox, 1, 100)[0]
    sandbox.zoom_control.fault("POST", CREATE_PATH, "delay", count=1, seconds=4)
    telegram.set_delay(8, "sendMessage")
    day, label = slot(0)
    confirm(customer, reach_summary(customer, shop.code, day, label))

    owners = shop.owner.wait_for(has_join, timeout=40, description="the owner's card with the Join button")
    mine = customer.wait_for(has_join, timeout=20, description="the customer's Join button")
    telegram.set_delay(0, "sendMessage")
    barrier(customer, database_url)
    # The card went out as it was before the meeting existed (the race this is about), and was brought up
    # to date: one card, with the link.
    sends = [c for c in sends_to(telegram, shop.owner.user_id) if "Order #1" in str(c.params.get("text"))]
    assert len(sends) == 1 and not has_join_markup(sends[0])
    assert list(owner_cards(shop.owner)) == [1] and owners.message_id == owner_cards(shop.owner)[1].message_id
    assert join_url(owners) == join_url(mine)
