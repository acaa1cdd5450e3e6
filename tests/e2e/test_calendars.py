"""Add to calendar (`order-<n>.ics`) and the private calendar feed, parsed back with icalendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, Event

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support import OWNER_ZONE
from tests.support.journeys import (
    has_join,
    join_url,
    order,
    person,
    set_timezone,
    zoom_service,
)

ZONE = OWNER_ZONE
WAIT = 30  # seconds: generous, the machine may be loaded


def start_of(card: SentMessage) -> datetime:
    """The start the card shows, as a UTC instant."""
    found = re.search(r"Start: (.+?) \(" + re.escape(ZONE) + r"\)", card.text)
    assert found, card.text
    local = datetime.strptime(found.group(1), "%a %d %b %Y, %H:%M").replace(tzinfo=ZoneInfo(ZONE))
    return local.astimezone(UTC)


def calendar_file(user: TelegramUser, card: SentMessage) -> tuple[SentMessage, Event]:
    user.press(card, "Add to calendar")
    sent = user.wait_for(lambda m: "document" in m.raw, timeout=WAIT, description="the .ics file")
    calendar = Calendar.from_ical(user.download(sent))
    calendar.validate()
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return sent, events[0]


def feed_url(message: SentMessage) -> str:
    found = re.search(r"(http://\S+/calendar/[A-Za-z0-9_-]{43}\.ics)", message.text)
    assert found, message.text
    return found.group(1)


def test_the_ics_file_and_the_feed_carry_the_order_and_follow_a_cancel(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    owner, customer = person(sandbox, 11, "Olivia"), person(sandbox, 22, "Carl")
    set_timezone(owner, ZONE, timeout=WAIT)
    shop = zoom_service(sandbox, owner, 60, "Session")
    order(customer, shop.code, day_index=1, time_label="10:00", name="Tax advice")
    card = customer.wait_for(has_join, timeout=WAIT, description="the Join button")
    link = join_url(card)
    start = start_of(card)
    start_url = sandbox.zoom_control.meetings()[0]["start_url"]

    sent, event = calendar_file(customer, card)
    assert sent.raw["document"]["file_name"] == "order-1.ics"
    assert event.decoded("DTSTART") == start and event.decoded("DTEND") == start + timedelta(hours=1)
    assert str(event["SUMMARY"]) == "Tax advice" and str(event["STATUS"]) == "TENTATIVE"
    assert str(event["URL"]) == link and str(event["LOCATION"]) == link and link in str(event["DESCRIPTION"])
    assert start_url not in customer.download(sent).decode()
    uid, sequence = str(event["UID"]), int(event["SEQUENCE"])
    owner_card = owner.wait_for(lambda m: "Order #1" in m.text and has_join(m), WAIT, "the owner's card")
    assert str(calendar_file(owner, owner_card)[1]["UID"]) == uid

    customer.send("/calendar")
    url = feed_url(customer.wait_for_text("/calendar/", timeout=WAIT))
    with httpx.Client(timeout=10) as http:
        answer = http.get(url)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
        (listed,) = Calendar.from_ical(answer.content).walk("VEVENT")
        assert str(listed["UID"]) == uid and listed.decoded("DTSTART") == start and str(listed["URL"]) == link
        etag, modified = answer.headers["etag"], answer.headers["last-modified"]
        assert http.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert http.get(url, headers={"If-Modified-Since": modified}).status_code == 304

        customer.press(card, "Cancel")
        customer.press(customer.wait_for_text("Cancel Order #1?", timeout=WAIT), "Confirm")
        customer.wait_for_text("cancelled", timeout=WAIT)
        closed = customer.wait_for(lambda m: m.message_id == card.message_id and "Cancelled" in m.text, WAIT)
        _, cancelled = calendar_file(customer, closed)
        assert str(cancelled["UID"]) == uid and str(cancelled["STATUS"]) == "CANCELLED"
        assert int(cancelled["SEQUENCE"]) > sequence and cancelled.decoded("DTSTART") == start

        changed = http.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        (listed,) = Calendar.from_ical(changed.content).walk("VEVENT")
        assert str(listed["STATUS"]) == "CANCELLED" and int(listed["SEQUENCE"]) == int(cancelled["SEQUENCE"])


def test_a_new_link_retires_the_old_one_and_bad_feed_paths_answer_404(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    customer = person(sandbox, 22, "Carl")
    customer.send("/calendar")
    first = customer.wait_for_text("/calendar/", timeout=WAIT)
    old = feed_url(first)
    customer.send("/calendar")
    customer.wait_for_text("can't show it again", timeout=WAIT)
    customer.press(first, "New link")
    new = feed_url(customer.wait_for_text("The old link no longer works", timeout=WAIT))
    assert new != old
    base = bot.web_url
    with httpx.Client(timeout=10) as http:
        assert http.get(old).status_code == 404, bot.logs()
        assert http.get(new).status_code == 200, bot.logs()
        for path in (
            "/calendar/" + "A" * 43 + ".ics",
            "/calendar/short.ics",
            "/calendar/..%2F..%2Fetc%2Fpasswd",
            "/calendar/../healthz.ics",
            "/calendar/" + new.rsplit("/", 1)[1] + "/x",
            "/calendar/" + "A" * 8000 + ".ics",
        ):
            assert http.get(base + path).status_code == 404, f"{path}\n{bot.logs()}"
