"""Giving up (issue 9): an outage longer than the attempts never strands an order, Telegram's flood waits
spend no attempts, and a job that truly gives up tells the owner and offers Retry on the card."""

from __future__ import annotations

import time

import pytest

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import TelegramControl
from tests.support.crowds import customers, links_in_both_chats, owner_cards, place_orders, slot
from tests.support.journeys import (
    Shop,
    confirm,
    create_service,
    has_button,
    order_number,
    person,
    reach_summary,
    texts_of,
    zoom_service,
)
from tests.support.observe import CREATE_PATH, creates
from tests.support.waiting import eventually

ATTEMPTS = 2  # JOB_MAX_ATTEMPTS
CAP = 1.0  # JOB_BACKOFF_CAP_SECONDS
REFUSED_TOLD = "Zoom refused the meeting for Order #"


# Few attempts per job and a short backoff cap.
@pytest.mark.bot_env(JOB_MAX_ATTEMPTS=str(ATTEMPTS), JOB_BACKOFF_CAP_SECONDS=str(CAP))
def test_a_zoom_outage_longer_than_the_attempts_is_waited_out_at_the_capped_interval(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    shop: Shop = zoom_service(sandbox, person(sandbox, 7001, "Olga"), 30, "Outage call")
    outage = ATTEMPTS * 3  # 500s, well past the attempts a job has
    sandbox.zoom_control.fault("POST", CREATE_PATH, "status", count=outage, status=500)
    placed = place_orders(shop, customers(sandbox, 1, 7100))

    # Each retry comes at most CAP (plus jitter) after the one before; 30 s covers the start-up.
    links_in_both_chats(shop.owner, placed, timeout=outage * CAP * 1.2 + 30)
    assert [r["status"] for r in creates(sandbox)] == [500] * outage + [201]
    assert not texts_of(shop.owner, REFUSED_TOLD)


def test_telegram_flood_waits_spend_no_attempts_so_a_later_error_is_retried_soon(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    shop = create_service(person(sandbox, 7201, "Oscar"), 30, "Flood call")
    customer = person(sandbox, 7301, "Cleo")
    day, label = slot(0)
    summary = reach_summary(customer, shop.code, day, label)

    # The owner's new-order card meets three rounds of flood waits (each round is one attempt of its job:
    # the rate limiter itself retries a flood wait twice), then a 500. Only the 500 is a failure.
    rounds = 3
    telegram.fail_next("sendMessage", status=429, retry_after=1, count=3 * rounds)
    telegram.fail_next("sendMessage", status=500)
    number = order_number(confirm(customer, summary))

    def server_error_at() -> float | None:
        calls = [c for c in telegram.calls("sendMessage") if c.status == 500]
        return time.monotonic() if calls else None

    failed = eventually(server_error_at, 30, "the 500 after the flood waits")
    eventually(lambda: number in owner_cards(shop.owner), 30, "the owner's new-order card")
    waited = time.monotonic() - failed
    # A first failure is retried after about 2 s; a fourth (flood waits counted) after about 16 s.
    assert waited < 8, f"the card came {waited:.1f}s after the 500: the flood waits were counted as attempts"


def test_a_job_that_gives_up_tells_the_owner_and_retry_on_the_card_runs_it_again(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    shop = create_service(person(sandbox, 7401, "Paula"), 30, "Refused call")
    owner, customer = shop.owner, person(sandbox, 7501, "Rita")
    day, label = slot(0)
    summary = reach_summary(customer, shop.code, day, label)

    # Telegram refuses the next new message (the owner's new-order card) for good: a 400 is not retried.
    telegram.fail_next("sendMessage", status=400, description="Bad Request: injected failure")
    number = order_number(confirm(customer, summary))
    told = owner.wait_for_text(f"Order #{number}: a message about it could not be sent", timeout=30)
    assert has_button(told, "Retry")
    assert number not in owner_cards(owner)

    owner.send("/orders")
    card = owner.wait_for(lambda m: order_number(m) == number, 15, "the order in /orders")
    assert has_button(card, "Retry"), card.buttons
    owner.press(card, "Retry")

    def delivered() -> bool:
        newest = owner_cards(owner).get(number)
        return newest is not None and newest.message_id > card.message_id and not has_button(newest, "Retry")

    eventually(delivered, 30, "the owner's new-order card, sent again after Retry")
    sent_again = [
        m for m in owner.bot_messages() if order_number(m) == number and m.message_id > card.message_id
    ]
    assert len(sent_again) == 1, [m.text for m in sent_again]


SLOW_ANSWER = 7.0  # seconds Telegram takes to answer sendMessage (the message is in the chat meanwhile)


# The bot waits up to twice SLOW_ANSWER for Telegram's answer.
@pytest.mark.bot_env(TELEGRAM_READ_TIMEOUT_SECONDS=str(SLOW_ANSWER * 2))
def test_a_slow_answer_to_a_send_does_not_send_the_message_twice(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    shop = create_service(person(sandbox, 7601, "Sofia"), 30, "Slow call")
    first, second = person(sandbox, 7701, "Tara"), person(sandbox, 7702, "Uma")
    day, label = slot(0)
    summary = reach_summary(first, shop.code, day, label)
    telegram.set_delay(SLOW_ANSWER, "sendMessage")  # applied before the message is added to the chat
    number = order_number(confirm(first, summary))
    eventually(lambda: number in owner_cards(shop.owner), SLOW_ANSWER * 3, "the owner's new-order card")
    telegram.set_delay(0, "sendMessage")

    # Barrier: the owner's chat gets its messages in order, so the next order's card comes only after the
    # first card's job has finished (a resend of the first card would come before it).
    later, later_label = slot(1)
    other = order_number(confirm(second, reach_summary(second, shop.code, later, later_label)))
    eventually(lambda: other in owner_cards(shop.owner), 60, "the owner's second new-order card")
    cards = [m for m in shop.owner.bot_messages() if order_number(m) == number]
    assert len(cards) == 1, f"the owner got order #{number}'s card {len(cards)} times"


def test_a_card_whose_answer_was_lost_is_not_sent_twice_and_the_next_change_sends_it_anew(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    shop = create_service(person(sandbox, 7801, "Vera"), 30, "Lost answer call")
    owner, first, second = shop.owner, person(sandbox, 7901, "Wendy"), person(sandbox, 7902, "Xena")
    day, label = slot(0)
    summary = reach_summary(first, shop.code, day, label)
    # Telegram delivers the owner's new-order card, but its gateway answers 502.
    telegram.fail_next("sendMessage", status=502, commit=True)
    number = order_number(confirm(first, summary))
    eventually(lambda: any(c.status == 502 for c in telegram.calls("sendMessage")), 30, "the lost answer")

    # Barrier: the owner's chat gets its messages in order; the next order's card follows the first's job.
    later, later_label = slot(1)
    other = order_number(confirm(second, reach_summary(second, shop.code, later, later_label)))
    eventually(lambda: other in owner_cards(owner), 60, "the owner's second new-order card")
    copies = [m for m in owner.bot_messages() if order_number(m) == number]
    assert len(copies) == 1, f"the owner got order #{number}'s card {len(copies)} times"

    # The delivered copy is unknown to the bot: the order's next change sends the card anew, up to date.
    owner.press(copies[0], "Confirm")
    fresh = owner.wait_for(
        lambda m: order_number(m) == number and m.message_id > copies[0].message_id and "Confirmed" in m.text,
        30,
        "order's card, sent anew after the change",
    )
    assert has_button(fresh, "Done")
