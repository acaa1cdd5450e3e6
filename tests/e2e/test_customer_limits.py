"""Per-customer limits and forged booking data (issue 9): one stranger cannot hold every slot of an owner,
and a time is accepted only when the bot offered it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sandbox.harness import BotProcess, Sandbox
from tests.support.journeys import confirm, create_service, open_times, order, person, reach_summary

CAP = 2  # CUSTOMER_ACTIVE_ORDERS


@pytest.mark.bot_env(CUSTOMER_ACTIVE_ORDERS=str(CAP))
def test_a_customer_holds_at_most_the_cap_of_active_orders_with_one_owner(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    shop = create_service(person(sandbox, 9301, "Owner"), 30, "Limited")
    greedy, other = person(sandbox, 9302, "Greedy"), person(sandbox, 9303, "Other")
    for n in range(CAP):
        assert "Order #" in order(greedy, shop.code, day_index=n).text
    summary = reach_summary(greedy, shop.code, 3, "10:00")  # days are counted among those offered
    greedy.press(summary, "Confirm")
    answer = greedy.callback_answer(timeout=20)
    assert answer is not None and answer.show_alert and "active orders" in answer.text, answer
    assert "Order #" in confirm(other, reach_summary(other, shop.code, 4, "10:00")).text


def test_a_forged_time_beyond_the_offered_days_is_refused(sandbox: Sandbox, bot: BotProcess) -> None:
    shop = create_service(person(sandbox, 9401, "Owner"), 30, "Horizon")
    customer = person(sandbox, 9402, "Forger")
    _, times = open_times(customer, shop.code, day_index=0)
    real = str(times.buttons[0][0].callback_data)
    verb_and_key, stamp = real.rsplit(":", 1)
    day = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8])) + timedelta(weeks=9)  # same weekday
    customer.press_data(times.message_id, f"{verb_and_key}:{day.strftime('%Y%m%d')}{stamp[8:]}")
    answer = customer.callback_answer(timeout=20)
    assert answer is not None and answer.show_alert, answer
    assert not [m for m in customer.bot_messages() if "What should the order be called" in m.text]
