"""Order actions at the same moment, and stale owner buttons (issue 9): one order, one outcome."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.harness import Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.crowds import owner_cards
from tests.support.journeys import create_service, has_button, order, order_number, person
from tests.support.waiting import eventually
from tests.support.worlds import World


@pytest.fixture
def sandbox(shared_world: World) -> Sandbox:
    """The module's tests share one bot: each has its own owners and customers."""
    return shared_world.sandbox


def answered_ok(user: TelegramUser) -> bool:
    answer = user.callback_answer(timeout=20)
    assert answer is not None, f"{user.first_name}'s press got no answer"
    return not answer.show_alert


def test_confirm_and_cancel_pressed_at_once_never_both_succeed(sandbox: Sandbox) -> None:
    both = []
    for n in range(6):
        owner = person(sandbox, 8000 + n, f"Owner{n}")
        customer = person(sandbox, 8100 + n, f"Customer{n}")
        shop = create_service(owner, 30, f"Race {n}")
        card = order(customer, shop.code)
        number = order_number(card)
        customer.press(card, "Cancel")
        question = customer.wait_for(lambda m: has_button(m, "Confirm"), 20, "the cancel question")
        owners_card: SentMessage = eventually(
            lambda o=owner, k=number: owner_cards(o).get(k), 20, "the owner's new-order card"
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            presses = [
                pool.submit(owner.press, owners_card, "Confirm"),
                pool.submit(customer.press, question, "Confirm"),
            ]
            for press in presses:
                press.result()
        if answered_ok(owner) and answered_ok(customer):
            both.append(number)
    assert not both, f"both the owner's Confirm and the customer's Cancel succeeded on orders {both}"


def test_a_stale_confirm_button_does_not_act_on_an_order_changed_since(sandbox: Sandbox) -> None:
    owner, customer = person(sandbox, 8201, "Owner"), person(sandbox, 8202, "Customer")
    shop = create_service(owner, 30, "Stale call")
    card = order(customer, shop.code)
    number = order_number(card)
    eventually(lambda: owner_cards(owner).get(number), 20, "the owner's new-order card")
    owner.send("/orders")
    listed = owner.wait_for(lambda m: order_number(m) == number and has_button(m, "Confirm"), 20, "/orders")

    customer.press(card, "Rename")
    customer.wait_for_text("Send the new name")
    customer.send("Another name")
    ask = customer.wait_for(lambda m: has_button(m, "Confirm"), 20, "the rename question")
    customer.press(ask, "Confirm")
    customer.wait_for_text("renamed to")

    owner.press(listed, "Confirm")  # the card from /orders still shows the order before the rename
    answer = owner.callback_answer(timeout=20)
    assert answer is not None and answer.show_alert and "changed meanwhile" in answer.text, answer
    now = next(m for m in owner.bot_messages() if m.message_id == listed.message_id)
    assert "· Confirmed" not in now.text, now.text
