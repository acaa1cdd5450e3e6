"""Two replicas of the real bot on one PostgreSQL behind a round-robin proxy, one killed with -9 mid-run.

Telegram (the emulator) posts every update to PUBLIC_URL, where the proxy hands the posts to the
replicas in turn; a post that hits the dead replica gets a 502 and Telegram delivers it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.balancer import RoundRobinProxy
from sandbox.harness import BotProcess, Sandbox, bot_environment
from sandbox.server import ServedApp, free_port
from sandbox.telegram.client import BotCall, TelegramControl, TelegramUser
from tests.support import fresh_database
from tests.support.crowds import (
    Confirmed,
    assert_one_meeting_per_order,
    customers,
    links_in_both_chats,
    place_in_parallel,
    plan_orders,
    zoom_owners,
)
from tests.support.databases import postgres_available
from tests.support.journeys import ORDER_HEADER, Shop, order_number
from tests.support.waiting import eventually

ORDERS = 100
OWNERS = 4
CUSTOMERS = 10
KILL_AT = 35  # orders placed when replica B is killed with -9
RESTART_AT = 65  # ... and started again
SECRET = "replica_test_secret"
# Time knobs shrunk for the test: a dead replica's jobs are taken over after 3 s, idle workers look
# every half second, Telegram retries a failed post after 0.2 s (doubling up to 1 s).
# A load test: each customer books many times with each owner, past the production cap of active orders.
FAST = {"JOB_LEASE_SECONDS": "3", "WORKER_POLL_SECONDS": "0.5", "CUSTOMER_ACTIVE_ORDERS": str(100)}

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("RUN_REPLICAS") != "1",
        reason="two replicas on PostgreSQL (a minute long): set RUN_REPLICAS=1 to run it; .ci/run does",
    ),
    pytest.mark.skipif(
        not postgres_available(),
        reason="replicas need PostgreSQL: none is reachable at TEST_POSTGRES_URL, so the replica test is "
        "skipped",
    ),
]


class Replicas:
    """Two `python -m bot` processes in webhook mode on one database, behind the proxy at PUBLIC_URL."""

    def __init__(self, sandbox: Sandbox, database_url: str, folder: Path) -> None:
        self.bots: list[BotProcess] = []
        upstreams = []
        for name, log_format in (("a", "json"), ("b", "text")):
            port = free_port()
            env = bot_environment(
                sandbox,
                database_url,
                TELEGRAM_MODE="webhook",
                TELEGRAM_WEBHOOK_SECRET=SECRET,
                WEB_PORT=str(port),
                LOG_FORMAT=log_format,
                **FAST,
            )
            place = folder / name
            place.mkdir()
            url = f"http://127.0.0.1:{port}"
            self.bots.append(BotProcess(env=env, log_path=place / "bot.log", web_url=url, cwd=place))
            upstreams.append(url)
        self.proxy = RoundRobinProxy(upstreams, fail_timeout=2.0)
        self.served = ServedApp(self.proxy, port=sandbox.bot_port)

    def migrate(self) -> list[subprocess.CompletedProcess[str]]:
        """`python -m bot migrate` twice at once, as two deploy jobs might."""
        bot = self.bots[0]
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "migrate"],
                cwd=bot.cwd,
                env=bot.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        return [
            subprocess.CompletedProcess(run.args, run.wait(timeout=60), run.communicate()[0]) for run in runs
        ]

    def start(self) -> None:
        self.served.start()
        for bot in self.bots:
            bot.start(wait=False)
        for bot in self.bots:
            bot.wait_healthy(timeout=60)

    def stop(self) -> None:
        for bot in self.bots:
            bot.stop()
        self.served.stop()


@pytest.fixture
def replicas(sandbox: Sandbox, tmp_path: Path) -> Iterator[Replicas]:
    with fresh_database("postgresql", tmp_path) as url:
        running = Replicas(sandbox, url, tmp_path)
        try:
            yield running
        finally:
            running.stop()


def test_two_replicas_one_killed_lose_nothing_and_keep_each_chat_in_order(
    sandbox: Sandbox, replicas: Replicas
) -> None:
    migrations = replicas.migrate()
    assert [run.returncode for run in migrations] == [0, 0], [run.stdout for run in migrations]
    with TelegramControl(sandbox.telegram_server.url) as telegram:
        telegram.configure(webhook_retry={"base_delay": 0.2, "max_delay": 1.0, "max_attempts": 60})
        replicas.start()
        shops = zoom_owners(sandbox, OWNERS)
        people = customers(sandbox, CUSTOMERS, 20_000)
        a, b = replicas.bots
        restarts: Counter[str] = Counter()

        def progress(placed: int) -> None:
            with lock:
                if placed >= KILL_AT and b.starts == 1 and not killed:
                    b.kill()
                    killed.append(len(telegram.calls("sendMessage")))  # the sends Telegram had by then
                if placed >= RESTART_AT and b.starts == 1:
                    b.start(wait=False)

        lock, killed = threading.Lock(), list[int]()

        booked = place_in_parallel(people, plan_orders(shops, ORDERS), progress, restarts)
        links: dict[int, str] = {}
        for shop in shops:
            mine = [order.placed for order in booked if order.shop is shop]
            with told(replicas):
                links.update(links_in_both_chats(shop.owner, mine, timeout=120))
        eventually(
            lambda: telegram.webhook()["info"]["pending_update_count"] == 0, 30, "every update delivered"
        )
        calls = telegram.calls("sendMessage")

    assert b.starts == 2, "replica B was not killed and restarted mid-run"
    # Both replicas handled webhook posts, and some posts hit the dead one and were delivered again.
    assert all(replicas.proxy.served[bot.web_url] > 50 for bot in replicas.bots), replicas.proxy.served
    assert replicas.proxy.failed[b.web_url] >= 1, "no post reached the killed replica"

    # Every Confirm became one order (numbers may skip one: PostgreSQL does not reuse the id of an
    # insert that died with the killed replica).
    numbers = [order.placed.number for order in booked]
    assert len(booked) == ORDERS and len(set(numbers)) == ORDERS, "an order is missing or numbered twice"
    assert_one_meeting_per_order(sandbox, links)

    resent = resent_after_the_kill(calls, killed[0])
    with told(replicas):
        for shop in shops:
            assert_cards_once_and_in_order(shop, booked, resent)
        for customer in people:
            assert_conversation_in_order(customer, booked)
    repeated = Counter((c.params["chat_id"], c.params["text"]) for c in calls if c.ok)
    twice = [
        key
        for key, count in repeated.items()
        if str(key[1]).startswith("Order #") and count > 1 + ((key[0], card_number(str(key[1]))) in resent)
    ]
    assert not twice, f"order messages sent twice: {twice[:3]}"
    assert_json_logs(a)


@contextmanager
def told(replicas: Replicas) -> Iterator[None]:
    """On a failed check, add what the replicas logged at WARNING and above (their files are temporary)."""
    try:
        yield
    except AssertionError as failure:
        lines = [
            f"{bot.cwd.name}: {line[:300]}"
            for bot in replicas.bots
            for line in bot.logs().splitlines()
            if "WARNING" in line or "ERROR" in line or "CRITICAL" in line
        ]
        raise AssertionError(f"{failure}\nreplica logs:\n" + "\n".join(lines[-80:])) from None


def card_number(text: str) -> int | None:
    found = ORDER_HEADER.match(text)
    return int(found.group(1)) if found else None


def resent_after_the_kill(calls: list[BotCall], accepted_at_kill: int) -> set[tuple[int, int | None]]:
    """The cards (chat, order number) sent before replica B was killed and sent again after it.

    The one repeat a kill -9 may cause (README "Several replicas"): a card Telegram
    accepted from B just before the kill, whose send B had not recorded yet, is sent again when A takes the
    job over after B's lease. Nothing else may repeat; a card sent only before or only after is not here."""

    def cards(some: list[BotCall]) -> set[tuple[int, int | None]]:
        sent = {(c.params["chat_id"], card_number(str(c.params["text"]))) for c in some if c.ok}
        return {card for card in sent if card[1] is not None}

    return cards(calls[:accepted_at_kill]) & cards(calls[accepted_at_kill:])


def assert_cards_once_and_in_order(
    shop: Shop, booked: list[Confirmed], resent: set[tuple[int, int | None]]
) -> None:
    """The owner's chat has one card per order, in the order the orders were placed (a card `resent` after
    the kill counted once, where its first copy is)."""
    cards = [n for n in (order_number(m) for m in shop.owner.bot_messages()) if n is not None]
    for chat_id, number in resent:
        if chat_id == shop.owner.user_id and number is not None and cards.count(number) == 2:
            del cards[max(i for i, card in enumerate(cards) if card == number)]  # the later copy
    expected = sorted(order.placed.number for order in booked if order.shop is shop)
    assert sorted(cards) == expected, f"{shop.owner.first_name}: cards {cards}, orders {expected}"
    assert cards == expected, f"{shop.owner.first_name}'s cards out of order: {cards}"


def assert_conversation_in_order(customer: TelegramUser, booked: list[Confirmed]) -> None:
    """Each order the customer placed shows once in their chat, in the order they placed them."""
    numbers = [n for n in (order_number(m) for m in customer.bot_messages()) if n is not None]
    placed = [order.placed.number for order in booked if order.placed.customer is customer]
    assert numbers == sorted(placed), f"{customer.first_name}: orders {numbers} in the chat, placed {placed}"


def assert_json_logs(bot: BotProcess) -> None:
    """LOG_FORMAT=json: every line replica A wrote is one JSON object with a level and a message."""
    entries = [json.loads(line) for line in bot.logs().splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
