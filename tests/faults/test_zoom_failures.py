"""Zoom failing on meeting create: 5xx, lost answers, rate limits and XML errors, seen from both chats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from sandbox.harness import BotProcess, Sandbox
from tests.support.crowds import (
    assert_one_meeting_per_order,
    customer_card,
    customers,
    links_in_both_chats,
    place_orders,
    wait_until_every_card_says,
)
from tests.support.journeys import Shop, has_join, texts_of
from tests.support.observe import CREATE_PATH, creates, live_meetings, zoom_requests
from tests.support.waiting import stays_the_same

QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
WAITING_LIMIT = "waiting for Zoom's daily limit to reset"
DAILY_LIMIT_TOLD = "Zoom's daily limit of meeting changes"
REFUSED_TOLD = "Zoom refused the meeting for Order #"


def seconds_of(entry: dict[str, object]) -> datetime:
    return datetime.strptime(str(entry["at"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_three_500s_then_success_give_one_meeting_and_the_link_in_both_chats(
    sandbox: Sandbox, shop: Shop
) -> None:
    sandbox.zoom_control.fault("POST", CREATE_PATH, "status", count=3, status=500)
    placed = place_orders(shop, customers(sandbox, 1, 100))
    pending = customer_card(placed[0])
    assert "being created" in pending.text and not has_join(pending)

    links = links_in_both_chats(shop.owner, placed, timeout=45)
    assert [r["status"] for r in creates(sandbox)] == [500, 500, 500, 201]
    assert_one_meeting_per_order(sandbox, links)
    assert not texts_of(shop.owner, REFUSED_TOLD)


def test_creates_whose_answer_was_lost_are_adopted_not_repeated(sandbox: Sandbox, shop: Shop) -> None:
    # Zoom creates both meetings; the bot sees one die and the other time out (ZOOM_TIMEOUT_SECONDS).
    sandbox.zoom_control.fault("POST", CREATE_PATH, "commit_then_drop", count=1)
    sandbox.zoom_control.fault("POST", CREATE_PATH, "commit_then_hang", count=1, seconds=40)
    placed = place_orders(shop, customers(sandbox, 2, 100))

    links = links_in_both_chats(shop.owner, placed, timeout=60)
    assert_one_meeting_per_order(sandbox, links)
    posts = creates(sandbox)
    assert len(posts) == 2, [(r["status"], r["fault"]) for r in posts]
    assert {r["fault"] for r in posts} == {"commit_then_drop", "commit_then_hang"}
    searches = [r for r in zoom_requests(sandbox, "GET", CREATE_PATH) if r["query"].get("type") == "upcoming"]
    assert len(searches) >= 2, "each unknown outcome is followed by a search among upcoming meetings"


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_a_per_second_429_is_retried_after_retry_after(sandbox: Sandbox, shop: Shop, form: str) -> None:
    # Both waits are far beyond the first backoff step (0.25 s here), so an early retry would show.
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
    if form == "seconds":
        sandbox.zoom_control.fault("POST", CREATE_PATH, "qps_429", count=1, retry_after=5)
    else:
        when = format_datetime(until, usegmt=True)
        headers = {"Retry-After": when, "X-RateLimit-Type": "QPS", "X-RateLimit-Category": "Medium"}
        body = {"code": 429, "message": QPS_MESSAGE}
        sandbox.zoom_control.fault(
            "POST", CREATE_PATH, "status", count=1, status=429, body=body, headers=headers
        )
    placed = place_orders(shop, customers(sandbox, 1, 100))

    links = links_in_both_chats(shop.owner, placed, timeout=40)
    assert_one_meeting_per_order(sandbox, links)
    log = sandbox.zoom_control.requests()
    refused = next(i for i, r in enumerate(log) if r["status"] == 429)
    earliest = seconds_of(log[refused]) + timedelta(seconds=5) if form == "seconds" else until
    # The log has whole seconds: allow one for rounding.
    assert seconds_of(log[refused + 1]) >= earliest - timedelta(seconds=1), log[refused:]
    assert [r["status"] for r in creates(sandbox)] == [429, 201]


def test_the_daily_limit_tells_the_owner_once_and_later_meetings_wait_quietly(
    sandbox: Sandbox, shop: Shop, database_url: str
) -> None:
    owner = shop.owner
    sandbox.zoom_control.set_daily_limit(1)
    first = place_orders(shop, customers(sandbox, 1, 100))
    links_in_both_chats(owner, first, timeout=60)
    waiting = place_orders(shop, customers(sandbox, 1, 200), first_slot=1)
    owner.wait_for_text(DAILY_LIMIT_TOLD, timeout=30)
    waiting += place_orders(shop, customers(sandbox, 1, 300), first_slot=2)

    wait_until_every_card_says(
        owner, waiting, WAITING_LIMIT, 60, "the later orders saying they wait for the daily limit"
    )
    # No retry storm: nothing more reaches Zoom while the limit lasts.
    calls = stays_the_same(lambda: len(sandbox.zoom_control.requests()), owner, database_url)
    assert [r["status"] for r in creates(sandbox)] == [201, 429], calls
    assert len(live_meetings(sandbox)) == 1
    assert len(texts_of(owner, DAILY_LIMIT_TOLD)) == 1


def test_an_xml_error_body_is_told_to_the_owner_in_words_without_retries(
    sandbox: Sandbox, bot: BotProcess, shop: Shop, database_url: str
) -> None:
    reason = "Invalid meeting passcode: it does not meet the account's requirements."
    sandbox.zoom_control.fault("POST", CREATE_PATH, "xml", count=None, status=400, code=300, message=reason)
    placed = place_orders(shop, customers(sandbox, 1, 100))

    told = shop.owner.wait_for_text(REFUSED_TOLD + "1", timeout=30)
    assert reason in told.text and "<" not in told.text
    mine = placed[0].customer.wait_for(
        lambda m: m.message_id == placed[0].card_id and "could not be created" in m.text, timeout=20
    )
    assert not has_join(mine)
    assert "/users/me" not in told.text + mine.text  # Zoom's words, not our request
    stays_the_same(lambda: len(creates(sandbox)), shop.owner, database_url)
    assert len(creates(sandbox)) == 1
    assert len(texts_of(shop.owner, REFUSED_TOLD)) == 1
    assert bot.process is not None and bot.process.poll() is None
    placed[0].customer.send("/help")
    placed[0].customer.wait_for(lambda m: "/newservice" in m.text and m.message_id > mine.message_id)
