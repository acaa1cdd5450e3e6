"""Many customers ordering at once, and many owners: placing orders in parallel and checking that every order
got its one meeting and the same Join link in both chats (the fault tests, the soak and the benchmarks)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sandbox.harness import Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.journeys import (
    Shop,
    confirm,
    has_join,
    join_url,
    order_number,
    person,
    reach_summary,
    zoom_service,
)
from tests.support.observe import live_meetings, marker_of
from tests.support.waiting import eventually

SLOTS_PER_DAY = 18  # a 30-minute service: 09:00 … 17:30


def slot(index: int) -> tuple[int, str]:
    """The day (from tomorrow) and start label of the index-th half-hour slot of a 30-minute service."""
    day, within = divmod(index, SLOTS_PER_DAY)
    return 1 + day, f"{9 + within // 2:02d}:{(within % 2) * 30:02d}"


@dataclass
class Placed:
    """One placed order as the customer saw it."""

    customer: TelegramUser
    number: int
    card_id: int


def customers(sandbox: Sandbox, count: int, first_id: int, prefix: str = "Customer") -> list[TelegramUser]:
    return [person(sandbox, first_id + i, f"{prefix}{first_id + i}") for i in range(count)]


def place_orders(shop: Shop, people: Sequence[TelegramUser], first_slot: int = 0) -> list[Placed]:
    """Every customer reaches the summary at the same time, then all confirm in quick succession."""

    def summary(index: int) -> SentMessage:
        day, label = slot(first_slot + index)
        return reach_summary(people[index], shop.code, day, label)

    def confirmed(index: int, summary: SentMessage) -> Placed:
        card = confirm(people[index], summary)
        number = order_number(card)
        assert number is not None
        return Placed(people[index], number, card.message_id)

    with ThreadPoolExecutor(max_workers=min(10, len(people))) as pool:
        summaries = list(pool.map(summary, range(len(people))))
        return list(pool.map(confirmed, range(len(people)), summaries))


def owner_cards(owner: TelegramUser) -> dict[int, SentMessage]:
    """The owner's order cards by order number (the newest message for each)."""
    cards: dict[int, SentMessage] = {}
    for message in owner.bot_messages():
        number = order_number(message)
        if number is not None:
            cards[number] = message
    return cards


def order_cards_of_owner(shop: Shop) -> list[int]:
    """The order number of every order card in the owner's chat, a number as often as it has cards."""
    return [n for n in (order_number(m) for m in shop.owner.bot_messages()) if n is not None]


def customer_card(placed: Placed) -> SentMessage:
    return next(m for m in placed.customer.bot_messages() if m.message_id == placed.card_id)


def links_in_both_chats(owner: TelegramUser, orders: Sequence[Placed], timeout: float) -> dict[int, str]:
    """Wait until every order's card carries the Join button in both chats; the join URL per order."""

    def all_there() -> dict[int, str] | None:
        cards = owner_cards(owner)
        links: dict[int, str] = {}
        for placed in orders:
            mine, theirs = customer_card(placed), cards.get(placed.number)
            if theirs is None or join_url(mine) is None or join_url(mine) != join_url(theirs):
                return None
            links[placed.number] = str(join_url(mine))
        return links

    try:
        return eventually(all_there, timeout, "the Join link on every order in both chats", interval=0.3)
    except AssertionError:
        missing = [p.number for p in orders if join_url(customer_card(p)) is None]
        raise AssertionError(
            f"orders without a Join link in the customer's chat: {missing}\n"
            f"owner's chat:\n{owner.transcript()[-4000:]}"
        ) from None


def assert_one_meeting_per_order(sandbox: Sandbox, links: dict[int, str], email: str | None = None) -> None:
    """Zoom holds exactly one live meeting per order, and its join URL is the one both chats show."""
    meetings = live_meetings(sandbox, email)
    by_order: dict[int, list[dict[str, Any]]] = {}
    for meeting in meetings:
        number = marker_of(meeting)
        assert number is not None, f"a meeting without an order marker: {meeting['agenda']!r}"
        by_order.setdefault(number, []).append(meeting)
    duplicates = {n: len(found) for n, found in by_order.items() if len(found) != 1}
    assert not duplicates, f"orders with more than one meeting: {duplicates}"
    assert set(by_order) == set(links), f"meetings for {sorted(by_order)}, orders {sorted(links)}"
    for number, link in links.items():
        assert by_order[number][0]["join_url"] == link, f"order {number} shows another meeting's link"


def wait_until_every_card_says(
    owner: TelegramUser, placed: Sequence[Placed], text: str, timeout: float, description: str
) -> dict[int, SentMessage]:
    """Until every order card of `placed`, in both chats, says `text`; then none of them may have a Join
    button. Returns the owner's cards by order number."""
    eventually(lambda: every_card_says(owner, placed, text), timeout, description)
    cards = owner_cards(owner)
    for p in placed:
        for card in (customer_card(p), cards[p.number]):
            assert not has_join(card), card.text
    return cards


def every_card_says(owner: TelegramUser, placed: Sequence[Placed], text: str) -> bool:
    """Every order card of `placed`, in both chats, says `text`."""
    cards = owner_cards(owner)
    return all(
        text in customer_card(p).text and p.number in cards and text in cards[p.number].text for p in placed
    )


# Load: several owners, many orders placed by customers in parallel (the soak test and the benchmark).


def zoom_owners(sandbox: Sandbox, count: int, first_id: int = 1000) -> list[Shop]:
    """Owners with a 30-minute service each and their own Zoom account, connected and On."""
    shops = []
    for index in range(count):
        owner = person(sandbox, first_id + index, f"Owner{index}")
        shops.append(zoom_service(sandbox, owner, 30, f"Service{index}", f"owner{index}@example.com"))
    return shops


@dataclass(frozen=True)
class Planned:
    """One order to place: which shop, which slot of that shop."""

    shop: Shop
    slot_index: int


@dataclass
class Confirmed:
    """A placed order with the moment Confirm was pressed (epoch seconds, the sandbox's clock)."""

    placed: Placed
    shop: Shop
    confirmed_at: float


def plan_orders(shops: Sequence[Shop], count: int) -> list[Planned]:
    """`count` orders spread round-robin over the shops, each on its own free slot."""
    return [Planned(shops[i % len(shops)], i // len(shops)) for i in range(count)]


def place_in_parallel(
    people: Sequence[TelegramUser],
    plan: Sequence[Planned],
    on_placed: Callable[[int], None] = lambda placed_so_far: None,
    restarts: Counter[str] | None = None,
) -> list[Confirmed]:
    """Each customer places its share of the plan one order after another; customers run in parallel.

    With `restarts`, a customer whose conversation stalls before Confirm (say, the bot was killed
    between two steps) opens the link again, as a person would; `restarts` counts how often.
    """
    lanes = [list(plan[i :: len(people)]) for i in range(len(people))]
    booked: list[Confirmed] = []

    def summary(customer: TelegramUser, planned: Planned) -> SentMessage:
        day, label = slot(planned.slot_index)
        for attempt in range(3):
            try:
                return reach_summary(customer, planned.shop.code, day, label)
            except (AssertionError, LookupError):
                if restarts is None or attempt == 2:
                    raise
                restarts[customer.first_name] += 1
        raise AssertionError("unreachable")

    def run(customer: TelegramUser, mine: list[Planned]) -> None:
        for planned in mine:
            ready = summary(customer, planned)
            pressed = time.time()
            card = confirm(customer, ready)
            number = order_number(card)
            assert number is not None
            booked.append(Confirmed(Placed(customer, number, card.message_id), planned.shop, pressed))
            on_placed(len(booked))

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        futures = [pool.submit(run, customer, mine) for customer, mine in zip(people, lanes, strict=True)]
        for future in futures:
            future.result()
    return booked
