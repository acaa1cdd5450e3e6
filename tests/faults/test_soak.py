"""Soak: 200 orders from several customers for several owners under random faults and two `kill -9`s."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.harness import BotProcess, Sandbox, bot_environment
from sandbox.telegram.client import SentMessage, TelegramControl
from tests.support.crowds import (
    Confirmed,
    customer_card,
    customers,
    owner_cards,
    place_in_parallel,
    plan_orders,
    zoom_owners,
)
from tests.support.journeys import Shop, join_url
from tests.support.observe import CREATE_PATH, live_meetings, marker_of

ORDERS = 200
OWNERS = 4
CUSTOMERS = 10
KILL_AT = (ORDERS // 3, 2 * ORDERS // 3)
SEED = int(os.environ.get("SOAK_SEED", "20261124"))

pytestmark = [
    pytest.mark.soak,
    pytest.mark.bot_process,  # kill -9
    pytest.mark.skipif(
        os.environ.get("RUN_SOAK") != "1",
        reason="soak test (minutes long): set RUN_SOAK=1 to run it; the bench and CI scripts do",
    ),
]


def fault_menu(
    sandbox: Sandbox, telegram: TelegramControl
) -> list[tuple[str, Callable[[random.Random], None]]]:
    """Transient trouble only: every fault here is one the bot must get through without the owner."""
    zoom = sandbox.zoom_control
    return [
        ("zoom 500 on create", lambda r: zoom.fault("POST", CREATE_PATH, "status", count=r.randint(1, 3))),
        ("zoom 503 on search", lambda r: zoom.fault("GET", CREATE_PATH, "status", count=1, status=503)),
        ("zoom created then 500", lambda r: zoom.fault("POST", CREATE_PATH, "status", count=1, commit=True)),
        ("zoom created then dropped", lambda r: zoom.fault("POST", CREATE_PATH, "commit_then_drop", count=1)),
        ("zoom dropped", lambda r: zoom.fault("POST", CREATE_PATH, "drop", count=1)),
        ("zoom per-second 429", lambda r: zoom.fault("POST", CREATE_PATH, "qps_429", count=2, retry_after=1)),
        (
            "zoom slow create",
            lambda r: zoom.fault("POST", CREATE_PATH, "delay", count=3, seconds=r.uniform(1, 3)),
        ),
        ("zoom access tokens expired", lambda r: zoom.expire_access_tokens()),
        ("zoom token endpoint 500", lambda r: zoom.fault("POST", "/oauth/token", "status", count=1)),
        ("telegram 429 on sendMessage", lambda r: telegram.fail_next("sendMessage", 429, retry_after=1)),
        (
            "telegram 429 on editMessageText",
            lambda r: telegram.fail_next("editMessageText", 429, retry_after=1),
        ),
    ]


def rare_faults(sandbox: Sandbox) -> list[tuple[str, Callable[[random.Random], None]]]:
    """Faults that hold a Zoom call for the bot's whole 15 s timeout: a few per run."""
    zoom = sandbox.zoom_control
    return [
        (
            "zoom created then hung",
            lambda r: zoom.fault("POST", CREATE_PATH, "commit_then_hang", count=1, seconds=30),
        ),
        ("zoom hung", lambda r: zoom.fault("POST", CREATE_PATH, "hang", count=1, seconds=30)),
    ]


class Chaos(threading.Thread):
    """Arms a random fault every second or two, and kills the bot (-9) when the orders pass KILL_AT."""

    def __init__(self, sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl) -> None:
        super().__init__(name="chaos", daemon=True)
        self.rng = random.Random(SEED)
        self.armed: Counter[str] = Counter()
        self.kills = 0
        self.placed = 0
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self._sandbox, self._bot = sandbox, bot
        self._menu, self._rare = fault_menu(sandbox, telegram), rare_faults(sandbox)

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.rng.uniform(0.5, 2.0)):
                self._kill_when_due()
                menu = self._rare if self.rng.random() < 0.03 else self._menu
                name, arm = self.rng.choice(menu)
                arm(self.rng)
                self.armed[name] += 1
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.failure = exc

    def _kill_when_due(self) -> None:
        if self.kills < len(KILL_AT) and self.placed >= KILL_AT[self.kills]:
            time.sleep(self.rng.uniform(0, 1))
            self._bot.kill()
            self.kills += 1
            self._bot.start()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
        self._sandbox.zoom_control.clear_faults()


@pytest.fixture
def bot(sandbox: Sandbox, database_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    """The real bot; each customer books many times with each owner, past the production cap."""
    env = bot_environment(sandbox, database_url, CUSTOMER_ACTIVE_ORDERS=str(ORDERS))
    process = BotProcess.in_folder(sandbox, env, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


def test_200_orders_under_random_faults_and_two_kill_9_restarts(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    started = time.monotonic()
    shops = zoom_owners(sandbox, OWNERS)
    chaos = Chaos(sandbox, bot, telegram)
    restarts: Counter[str] = Counter()
    chaos.start()

    def progress(placed: int) -> None:
        chaos.placed = placed

    try:
        people = customers(sandbox, CUSTOMERS, 10_000)
        booked = place_in_parallel(people, plan_orders(shops, ORDERS), progress, restarts)
        while chaos.kills < len(KILL_AT) and chaos.is_alive():
            time.sleep(0.2)
    finally:
        chaos.stop()
    assert chaos.failure is None, chaos.failure
    placed_at = time.monotonic()

    settle(sandbox, shops, booked, timeout=240)
    settled_at = time.monotonic()

    counts = tally(sandbox, shops, booked)
    print(f"\nsoak (seed {SEED}): {ORDERS} orders, {OWNERS} owners, {CUSTOMERS} customers")
    print(f"  {'kill -9 restarts':<46} {chaos.kills}")
    for name, value in counts.items():
        print(f"  {name:<46} {value}")
    print(f"  {'conversations started again (stalled)':<46} {sum(restarts.values())}")
    print(f"  {'faults armed':<46} {sum(chaos.armed.values())} {dict(sorted(chaos.armed.items()))}")
    print(
        f"  {'time: setup+placing / links settled':<46} "
        f"{placed_at - started:.0f} s / {settled_at - placed_at:.0f} s after the last order"
    )

    assert counts["orders placed (confirmed by customers)"] == ORDERS
    assert counts["distinct order numbers"] == ORDERS
    assert counts["live meetings in Zoom"] == ORDERS
    assert counts["orders with exactly one meeting"] == ORDERS
    assert counts["meetings without an order"] == 0
    assert counts["order cards in owners' chats"] == ORDERS
    assert counts["orders with their link in the customer's chat"] == ORDERS, missing_links(booked)
    assert counts["orders with their link in the owner's chat"] == ORDERS, missing_links(booked)


Links = dict[int, str]


def links_seen(shops: list[Shop], booked: list[Confirmed]) -> tuple[Links, Links]:
    """The join URL each order shows in the customer's chat and in the owner's chat (one read per chat)."""
    by_customer: dict[int, dict[int, SentMessage]] = {}
    for order in booked:
        customer = order.placed.customer
        if customer.user_id not in by_customer:
            by_customer[customer.user_id] = {m.message_id: m for m in customer.bot_messages()}
    theirs: dict[int, str] = {}
    for shop in shops:
        for number, card in owner_cards(shop.owner).items():
            if join_url(card):
                theirs[number] = str(join_url(card))
    mine: dict[int, str] = {}
    for order in booked:
        shown = by_customer[order.placed.customer.user_id].get(order.placed.card_id)
        if shown is not None and join_url(shown):
            mine[order.placed.number] = str(join_url(shown))
    return mine, theirs


def settle(sandbox: Sandbox, shops: list[Shop], booked: list[Confirmed], timeout: float) -> None:
    """Wait until every order shows its link in both chats, or the timeout passes (then the counts tell)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine, theirs = links_seen(shops, booked)
        if len(mine) == len(booked) and len(theirs) == len(booked):
            return
        time.sleep(2)


def tally(sandbox: Sandbox, shops: list[Shop], booked: list[Confirmed]) -> dict[str, int]:
    """What Zoom holds and what both sides see, counted per order."""
    meetings = live_meetings(sandbox)
    per_order = Counter(marker_of(m) for m in meetings)
    link_of = {marker_of(m): m["join_url"] for m in meetings}
    numbers = {b.placed.number for b in booked}
    mine, theirs = links_seen(shops, booked)
    shown_to_customer = sum(1 for n in numbers if mine.get(n) == link_of.get(n))
    shown_to_owner = sum(1 for n in numbers if theirs.get(n) == link_of.get(n))
    statuses = Counter(str(r["status"]) for r in sandbox.zoom_control.requests() if r["path"] == CREATE_PATH)
    return {
        "orders placed (confirmed by customers)": len(booked),
        "distinct order numbers": len(numbers),
        "live meetings in Zoom": len(meetings),
        "orders with exactly one meeting": sum(1 for n in numbers if per_order[n] == 1),
        "meetings without an order": sum(1 for n in per_order if n not in numbers),
        "order cards in owners' chats": sum(len(owner_cards(shop.owner)) for shop in shops),
        "orders with their link in the customer's chat": shown_to_customer,
        "orders with their link in the owner's chat": shown_to_owner,
        "requests to /v2/users/me/meetings": sum(statuses.values()),
        **{f"  answered {status}": count for status, count in sorted(statuses.items())},
    }


def missing_links(booked: list[Confirmed]) -> str:
    """Where the links are missing: each such order's card as the customer sees it."""
    lines = []
    for order in booked:
        card = customer_card(order.placed)
        if join_url(card) is None:
            lines.append(f"order #{order.placed.number}: {card.text.splitlines()[-1]}")
    return "\n".join(lines) or "none missing in customers' chats"
