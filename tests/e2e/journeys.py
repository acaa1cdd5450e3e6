"""Steps people take, through the Telegram emulator, shared by the end-to-end tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.harness import Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser

JOIN = "Join a meeting"


def person(sandbox: Sandbox, user_id: int, name: str) -> TelegramUser:
    return TelegramUser(sandbox.telegram_server.url, user_id, name, name.lower())


def join_url(message: SentMessage) -> str | None:
    for row in message.buttons:
        for button in row:
            if button.text == JOIN:
                return button.url
    return None


def has_join(message: SentMessage) -> bool:
    return join_url(message) is not None


def share_code(card: SentMessage) -> str:
    found = re.search(r"\?start=s_([A-Za-z0-9_-]+)", card.text)
    if found is None:
        raise AssertionError(f"no share link on the card:\n{card.text}")
    return found.group(1)


@dataclass
class Shop:
    owner: TelegramUser
    card: SentMessage
    code: str


def create_service(owner: TelegramUser, minutes: int = 60, name: str = "Consultation") -> Shop:
    owner.send(f"/newservice {minutes} {name}")
    card = owner.wait_for(lambda m: "Share link" in m.text and name in m.text, description="the service card")
    return Shop(owner, card, share_code(card))


def connect_zoom(sandbox: Sandbox, shop: Shop, email: str = "owner@example.com") -> None:
    """Press the Zoom toggle, open the login link in the 'browser', and wait for the confirmation."""
    sandbox.zoom_control.login(email)
    before = len(shop.owner.bot_messages())
    shop.owner.press(shop.card, "Zoom: Off")
    invite = shop.owner.wait_for(
        lambda m: any(b.text == "Connect Zoom" and b.url for row in m.buttons for b in row),
        description="a Connect Zoom button",
    )
    url = shop.owner.press(invite, "Connect Zoom")
    assert url is not None
    page = sandbox.zoom_control.open_authorize_link(url)
    assert page.status_code == 200, page.text
    assert "return to Telegram" in page.text
    shop.owner.wait_for(
        lambda m: "Zoom is connected" in m.text and m.message_id > 0, description="'Zoom is connected'"
    )
    assert len(shop.owner.bot_messages()) > before


def offered_date(label: str, timezone: str) -> date:
    """The date a day button (`Tue 01 Dec`) stands for: the first date from today on with that label."""
    today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    for offset in range(400):
        day = today + timedelta(days=offset)
        if day.strftime("%a %d %b") == label:
            return day
    raise AssertionError(f"no date in the coming year is labelled {label!r}")


def zoom_start(day_label: str, clock: str, timezone: str) -> str:
    """Zoom's `start_time` (UTC, `...Z`) of `clock` (HH:MM) on the offered day `day_label` in `timezone`."""
    day = offered_date(day_label, timezone)
    hours, minutes = (int(part) for part in clock.split(":"))
    local = datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order(
    customer: TelegramUser,
    code: str,
    *,
    day_index: int = 0,
    time_label: str | None = None,
    name: str | None = None,
) -> SentMessage:
    """Order through the deep link; returns the customer's order message."""
    return order_on_day(customer, code, day_index=day_index, time_label=time_label, name=name)[0]


def order_on_day(
    customer: TelegramUser,
    code: str,
    *,
    day_index: int = 0,
    time_label: str | None = None,
    name: str | None = None,
) -> tuple[SentMessage, str]:
    """Order through the deep link; returns the customer's order message and the day button pressed."""
    customer.send(f"/start s_{code}")
    offer = customer.wait_for(
        lambda m: any(b.text == "Order" for row in m.buttons for b in row), description="Order"
    )
    customer.press(offer, "Order")
    days = customer.wait_for_text("Pick a day")
    day_label = days.buttons[day_index // 3][day_index % 3].text
    customer.press(days, day_label)
    times = customer.wait_for_text("Pick a start time")
    customer.press(times, time_label or times.buttons[0][0].text)
    ask = customer.wait_for_text("What should the order be called")
    if name is None:
        customer.press(ask, "Skip")
    else:
        customer.send(name)
    summary = customer.wait_for_text("Please check your order")
    customer.press(summary, "Confirm")
    return customer.wait_for_text("Order #"), day_label
