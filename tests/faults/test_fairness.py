"""Fairness (issue 9): what a second user waits while a first floods or builds a backlog.

Each test drives the real bot through the emulators and measures the second user's wait relative to the
limits the bot runs with (settings shrunk for the test), not against absolute wall-clock figures.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import TelegramControl, TelegramUser
from tests.support.crowds import customers, owner_cards, place_orders, slot
from tests.support.journeys import (
    Shop,
    confirm,
    connect_link,
    create_service,
    order_number,
    person,
    reach_summary,
)
from tests.support.waiting import eventually

CHAT_PERIOD = 2.0  # TELEGRAM_CHAT_PERIOD_SECONDS: one new message per chat every this many seconds
NOTICE_INTERVAL_SECONDS = 3.0


# A strict per-chat limit: one new message per chat every CHAT_PERIOD seconds.
SLOW_CHATS = pytest.mark.bot_env(
    TELEGRAM_CHAT_BURST="1",
    TELEGRAM_CHAT_PERIOD_SECONDS=str(CHAT_PERIOD),
    NOTICE_INTERVAL_SECONDS=str(NOTICE_INTERVAL_SECONDS),
)


def new_order_card_of(owner: TelegramUser, seen: set[int]) -> int | None:
    """The number of an order card in the owner's chat that is not in `seen`."""
    fresh = set(owner_cards(owner)) - seen
    return min(fresh) if fresh else None


@SLOW_CHATS
def test_a_backlog_in_one_owners_chat_does_not_delay_another_owners_new_order(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    busy = create_service(person(sandbox, 6001, "Busy"), 30, "Busy call")
    quiet = create_service(person(sandbox, 6002, "Quiet"), 30, "Quiet call")
    crowd = customers(sandbox, 10, 6100)
    late = person(sandbox, 6200, "Late")
    day, label = slot(0)
    summary = reach_summary(late, quiet.code, day, label)

    placed = place_orders(busy, crowd)  # ten new-order cards for one owner, one every CHAT_PERIOD
    eventually(lambda: owner_cards(busy.owner), 30, "the busy owner's first new-order card")

    started = time.monotonic()
    card = confirm(late, summary)
    number = order_number(card)
    eventually(lambda: number in owner_cards(quiet.owner), 60, "the quiet owner's new-order card")
    waited = time.monotonic() - started

    backlog = len(placed) - len(owner_cards(busy.owner))
    assert waited < CHAT_PERIOD, (
        f"the quiet owner waited {waited:.1f}s for the new order while another chat had a backlog of "
        f"{backlog} (one message per {CHAT_PERIOD:g}s in that chat)"
    )
    assert backlog >= 2, "the busy owner's backlog drained before the measurement; nothing was measured"
    eventually(lambda: len(owner_cards(busy.owner)) == len(placed), 60, "the busy owner's cards")


def test_a_retry_after_for_one_chat_pauses_only_that_chat(
    sandbox: Sandbox, bot: BotProcess, telegram: TelegramControl
) -> None:
    pause = 8
    first = create_service(person(sandbox, 6301, "First"), 30, "First call")
    second = create_service(person(sandbox, 6302, "Second"), 30, "Second call")
    day, label = slot(0)
    one, two = person(sandbox, 6401, "One"), person(sandbox, 6402, "Two")
    summary_one = reach_summary(one, first.code, day, label)
    summary_two = reach_summary(two, second.code, day, label)

    # The next new message (the first owner's order card) is refused with a flood wait for its chat.
    telegram.fail_next("sendMessage", status=429, retry_after=pause)
    confirm(one, summary_one)
    eventually(lambda: any(c.status == 429 for c in telegram.calls("sendMessage")), 20, "the flood wait")
    started = time.monotonic()
    number = order_number(confirm(two, summary_two))
    eventually(lambda: number in owner_cards(second.owner), 30, "the second owner's new order")
    waited = time.monotonic() - started
    assert waited < pause / 2, (
        f"the second owner waited {waited:.1f}s: a flood wait for another chat ({pause}s) held it up"
    )
    eventually(lambda: owner_cards(first.owner), pause + 20, "the first owner's card, after its wait")


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def failed_notices(owner: TelegramUser) -> list[str]:
    return [m.text for m in owner.bot_messages() if "Connecting Zoom did not work" in m.text]


@SLOW_CHATS
def test_repeated_failed_zoom_logins_are_merged_into_few_notices(sandbox: Sandbox, bot: BotProcess) -> None:
    owner = person(sandbox, 6501, "Flooder")
    shop: Shop = create_service(owner, 30, "Flood call")
    links = [connect_link(owner, shop) for _ in range(6)]
    callback = f"{sandbox.bot_url}/zoom/oauth/callback"
    with httpx.Client(trust_env=False, timeout=10) as browser:
        for link in links[:-1]:
            answer = browser.get(callback, params={"state": state_of(link), "error": "access_denied"})
            assert answer.status_code == 400
        # The last one fails differently: its notice is the barrier (each chat's messages go in order).
        assert browser.get(callback, params={"state": state_of(links[-1])}).status_code == 400
    started = time.monotonic()
    eventually(
        lambda: any("no authorization code" in text for text in failed_notices(owner)),
        30,
        "the notice of the last failed login",
    )
    notices = failed_notices(owner)
    assert len(notices) <= 2, f"{len(notices)} notices for 6 failed logins:\n" + "\n".join(notices)
    assert time.monotonic() - started < 30
