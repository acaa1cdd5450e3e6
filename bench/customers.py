"""Customers ordering at once, as in tests/support/crowds.py, but patient and light on the emulator.

Under a burst every step can take longer than the tests' 20 s, and hundreds of people polling their chats
twenty times a second would cost the shared machine more CPU than the bot: here each person looks at their
chat every `interval` seconds and waits up to `timeout` for each step. Latencies are not taken from these
polls but from the emulator's call log, so the interval does not change the measured Confirm -> Join.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.crowds import Confirmed, Placed, Planned, slot
from tests.support.journeys import order_number


@dataclass(frozen=True)
class Pace:
    timeout: float = 300.0
    interval: float = 0.5


def wait_for(
    person: TelegramUser, pace: Pace, predicate: Callable[[SentMessage], bool], what: str
) -> SentMessage:
    """The newest bot message sent or edited since the person's last action that satisfies `predicate`."""
    deadline = time.monotonic() + pace.timeout
    since = person._since  # the emulator's change counter at this person's last action
    while True:
        try:
            seen = person.bot_messages()
        except httpx.TransportError:  # a pooled connection broke under load: looking again is harmless
            time.sleep(pace.interval)
            continue
        fresh = [m for m in seen if m.raw.get("seq", 0) > since]
        found = next((m for m in reversed(fresh) if predicate(m)), None)
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{person.first_name}: no {what} within {pace.timeout:g} s; the chat:\n{person.transcript()}"
            )
        time.sleep(pace.interval)


def _has(label: str) -> Callable[[SentMessage], bool]:
    return lambda m: any(b.text == label for row in m.buttons for b in row)


def _says(text: str) -> Callable[[SentMessage], bool]:
    return lambda m: text in m.text


def order_one(person: TelegramUser, planned: Planned, pace: Pace) -> Confirmed:
    """Open the service link, pick the day and time, skip the name, confirm: the placed order."""
    day, label = slot(planned.slot_index)
    person.send(f"/start s_{planned.shop.code}")
    person.press(wait_for(person, pace, _has("Order"), "Order button"), "Order")
    days = wait_for(person, pace, _says("Pick a day"), "days")
    person.press(days, days.buttons[day // 3][day % 3].text)
    person.press(wait_for(person, pace, _says("Pick a start time"), "times"), label)
    person.press(wait_for(person, pace, _says("What should the order be called"), "name step"), "Skip")
    summary = wait_for(person, pace, _says("Please check your order"), "summary")
    pressed = time.time()
    person.press(summary, "Confirm")
    card = wait_for(
        person,
        pace,
        lambda m: m.message_id == summary.message_id and order_number(m) is not None,
        "order card",
    )
    number = order_number(card)
    assert number is not None
    return Confirmed(Placed(person, number, card.message_id), planned.shop, pressed)


def place_at_once(people: Sequence[TelegramUser], plan: Sequence[Planned], pace: Pace) -> list[Confirmed]:
    """Each person places their share of the plan one order after another; people run in parallel."""
    lanes = [list(plan[i :: len(people)]) for i in range(len(people))]

    def run(person: TelegramUser, mine: list[Planned]) -> list[Confirmed]:
        return [order_one(person, planned, pace) for planned in mine]

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        results = list(pool.map(run, people, lanes))
    return [booked for lane in results for booked in lane]
