"""A press the bot reaches after Telegram's answer window: served all the same, answered once, no failure."""

from __future__ import annotations

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import TelegramControl
from tests.support.journeys import create_service, open_offer, person


def test_a_press_answered_after_telegrams_window_is_served_once_without_a_reported_failure(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    shop = create_service(owner, 30, "Tutoring")
    offer = open_offer(customer, shop.code)
    with TelegramControl(sandbox.telegram_server.url) as telegram:
        telegram.configure(callback_answer_window=0)  # every answer comes too late, as under a backlog
        telegram.clear_calls()
        customer.press(offer, "Order")
        customer.wait_for_text("Pick a day")
        customer.send("/help")  # this chat's updates are handled in order: once answered, the press is done
        customer.wait_for_text("/orders")
        answers = telegram.calls("answerCallbackQuery")
    assert len(answers) == 1, answers
    assert "Handler failed" not in bot.logs()
