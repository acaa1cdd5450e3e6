"""Customers ordering at once, as in tests/support/crowds.py, but patient and light on the emulator.

Under a burst every step can take longer than the tests' 20 s, and hundreds of people polling their chats
would cost the shared machine more CPU than the bot (200 people looking twice a second took more CPU than
the bot itself, on the same two cores): here each person asks the emulator for their chat once it changed
(the control API's `after`/`wait`), so a step costs a request or two, and waits up to `timeout` in all.
Latencies are not taken from these reads but from the emulator's call log.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.crowds import Confirmed, Placed, Planned, slot
from tests.support.journeys import order_number


@contextlib.contextmanager
def own_connections(count: int) -> Iterator[list[httpx.Client]]:
    """An HTTP client with one connection for each of `count` simulated people. One pool shared by hundreds
    of threads cost the driver more CPU than the bot: httpcore's pool looks through all its connections
    under one lock for every request, and the threads queued on that lock."""
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so none is reused as it closes.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2.0)
    clients = [httpx.Client(timeout=60, trust_env=False, limits=limits) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


@dataclass(frozen=True)
class Pace:
    timeout: float = 300.0
    interval: float = 0.5  # before asking again after a broken connection
    wait: float = 10.0  # the longest one request for a change waits (the HTTP timeout is 30 s)


def wait_for(
    person: TelegramUser, pace: Pace, predicate: Callable[[SentMessage], bool], what: str
) -> SentMessage:
    """The newest bot message sent or edited since the person's last action that satisfies `predicate`."""
    deadline = time.monotonic() + pace.timeout
    since = person._since  # the emulator's change counter at this person's last action
    seq = since
    while True:
        wait = max(0.0, min(pace.wait, deadline - time.monotonic()))
        try:
            seen, seq = person.changes_after(seq, wait)
        except httpx.TransportError:  # a pooled connection broke under load: asking again is harmless
            time.sleep(pace.interval)
            continue
        fresh = [m for m in seen if m.from_bot and m.raw.get("seq", 0) > since]
        found = next((m for m in reversed(fresh) if predicate(m)), None)
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{person.first_name}: no {what} within {pace.timeout:g} s; the chat:\n{person.transcript()}"
            )


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
