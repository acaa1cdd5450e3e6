"""Journeys people take through the Telegram emulator, one helper each: set the time zone or the hours,
create a service, connect Zoom, reach an order's summary, confirm it, order a slot, reschedule, book with
Zoom end to end. Users with ids from `new_user_id` are fresh in any bot, so tests can share one."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from sandbox.harness import Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser

JOIN = "Join a meeting"
ORDER_HEADER = re.compile(r"^Order #(\d+) ·")


@dataclass(frozen=True)
class Lingo:
    """The words a journey looks for and presses, in the language the person reads the bot in."""

    share_link: str = "Share link"
    zoom_off: str = "Zoom: Off"
    connect: str = "Connect Zoom"
    connected: str = "Zoom is connected"
    back_to_telegram: str = "return to Telegram"
    order: str = "Order"
    pick_day: str = "Pick a day"
    no_free_times: str = "no free times"
    pick_time: str = "Pick a start time"
    name_step: str = "What should the order be called"
    skip: str = "Skip"
    summary: str = "Please check your order"
    confirm: str = "Confirm"
    order_header: str = "Order #"


ENGLISH = Lingo()
RUSSIAN = Lingo(
    share_link="Ссылка для клиентов",
    zoom_off="Zoom: выкл",
    connect="Подключить Zoom",
    connected="Zoom подключён",
    back_to_telegram="вернуться в Telegram",
    order="Записаться",
    pick_day="Выберите день",
    no_free_times="свободного времени нет",
    pick_time="Выберите время начала",
    name_step="Как назвать заказ?",
    skip="Пропустить",
    summary="Проверьте заказ",
    confirm="Подтвердить",
    order_header="Заказ №",
)

# A test's own check at a step of a journey: the step's name and the message the person sees then
# (ordering: "offer", "days", "times", "ask", "summary"), called before the person acts on it.
Check = Callable[[str, SentMessage], None]


def no_check(step: str, message: SentMessage) -> None:
    return None


_user_ids = itertools.count(100_000)


def new_user_id() -> int:
    """A Telegram user id no other test of the run uses."""
    return next(_user_ids)


def person(sandbox: Sandbox, user_id: int, name: str) -> TelegramUser:
    return TelegramUser(sandbox.telegram_server.url, user_id, name, name.lower())


def someone(sandbox: Sandbox, name: str = "Olivia") -> TelegramUser:
    """A person no other test of the run has been (a fresh user id)."""
    return person(sandbox, new_user_id(), name)


def has_button(message: SentMessage, label: str) -> bool:
    return any(b.text == label for row in message.buttons for b in row)


def texts_of(user: TelegramUser, needle: str) -> list[SentMessage]:
    """The bot's messages in the user's chat that contain `needle`."""
    return [m for m in user.bot_messages() if needle in m.text]


def set_timezone(owner: TelegramUser, zone: str, timeout: float = 10.0) -> None:
    owner.send(f"/timezone {zone}")
    owner.wait_for_text(zone, timeout)


def set_hours(owner: TelegramUser, hours: str) -> SentMessage:
    """`/hours <hours>` (say `mon-sun 09:00-18:00`): the working hours the bot answers with."""
    owner.send(f"/hours {hours}")
    return owner.wait_for_text("Your working hours")


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


def create_service(
    owner: TelegramUser,
    minutes: int = 60,
    name: str = "Consultation",
    *,
    zone: str | None = None,
    hours: str | None = None,
    lang: Lingo = ENGLISH,
) -> Shop:
    """`/newservice`, after the owner set their time zone and working hours (`set_hours`) if given."""
    if zone is not None:
        set_timezone(owner, zone)
    if hours is not None:
        set_hours(owner, hours)
    owner.send(f"/newservice {minutes} {name}")
    card = owner.wait_for(
        lambda m: lang.share_link in m.text and name in m.text, description="the service card"
    )
    return Shop(owner, card, share_code(card))


def connect_invite(owner: TelegramUser, shop: Shop, lang: Lingo = ENGLISH) -> SentMessage:
    """Press the Zoom switch of a service without a connection: the message with the Connect Zoom link."""
    seen = max((m.message_id for m in owner.bot_messages()), default=0)
    owner.press(shop.card, lang.zoom_off)
    return owner.wait_for(
        lambda m: (
            m.message_id > seen and any(b.text == lang.connect and b.url for row in m.buttons for b in row)
        ),
        description=f"a {lang.connect} button",
    )


def connect_link(owner: TelegramUser, shop: Shop, lang: Lingo = ENGLISH) -> str:
    """Press the Zoom switch of a service without a connection and return the Connect Zoom URL."""
    url = owner.press(connect_invite(owner, shop, lang), lang.connect)
    assert url is not None
    return url


@dataclass
class Connected:
    """What the owner saw while connecting Zoom: the invitation, the page after Zoom, the confirmation."""

    invite: SentMessage
    page: httpx.Response
    told: SentMessage


def connect_zoom(
    sandbox: Sandbox, shop: Shop, email: str = "owner@example.com", lang: Lingo = ENGLISH
) -> Connected:
    """Press the Zoom toggle, open the login link in the 'browser' logged in as `email` (a Zoom user made
    if there is none), and wait for the confirmation."""
    sandbox.zoom_control.add_user(email)
    sandbox.zoom_control.login(email)
    before = len(shop.owner.bot_messages())
    invite = connect_invite(shop.owner, shop, lang)
    url = shop.owner.press(invite, lang.connect)
    assert url is not None
    page = sandbox.zoom_control.open_authorize_link(url)
    assert page.status_code == 200, page.text
    assert lang.back_to_telegram in page.text
    told = shop.owner.wait_for(
        lambda m: lang.connected in m.text and m.message_id > 0, description=f"'{lang.connected}'"
    )
    assert len(shop.owner.bot_messages()) > before
    return Connected(invite, page, told)


def zoom_service(
    sandbox: Sandbox,
    owner: TelegramUser,
    minutes: int = 60,
    name: str = "Consultation",
    email: str = "owner@example.com",
) -> Shop:
    """The owner creates a service and connects Zoom to it as `email`."""
    shop = create_service(owner, minutes, name)
    connect_zoom(sandbox, shop, email)
    return shop


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


def order(customer: TelegramUser, code: str, **choice: Any) -> SentMessage:
    """Order through the deep link (choices as in `reach_summary_on_day`); returns the customer's order
    message."""
    return order_on_day(customer, code, **choice)[0]


def order_on_day(
    customer: TelegramUser, code: str, lang: Lingo = ENGLISH, **choice: Any
) -> tuple[SentMessage, str]:
    """Order through the deep link; returns the customer's order message and the day button pressed."""
    summary, day_label = reach_summary_on_day(customer, code, lang=lang, **choice)
    customer.press(summary, lang.confirm)
    return customer.wait_for_text(lang.order_header), day_label


def reach_summary(
    customer: TelegramUser, code: str, day_index: int = 0, time_label: str | None = None, **choice: Any
) -> SentMessage:
    """The summary with Confirm (choices as in `reach_summary_on_day`)."""
    return reach_summary_on_day(customer, code, day_index=day_index, time_label=time_label, **choice)[0]


def reach_summary_on_day(
    customer: TelegramUser,
    code: str,
    *,
    day_index: int = 0,
    time_label: str | None = None,
    day_label: str | None = None,
    name: str | None = None,
    lang: Lingo = ENGLISH,
    check: Check = no_check,
) -> tuple[SentMessage, str]:
    """Open the service link, pick the day (the `day_index`-th button, or the one labelled `day_label`) and
    the time (the first offered, or `time_label`), name the order or skip it: the summary with Confirm, and
    the day button pressed. `check` sees each step's message before the customer acts on it."""
    day, times = open_times(customer, code, day_index=day_index, day_label=day_label, lang=lang, check=check)
    label = time_label or times.buttons[0][0].text
    return pick_time(customer, times, label, name, lang=lang, check=check), day


def open_offer(customer: TelegramUser, code: str, lang: Lingo = ENGLISH) -> SentMessage:
    """Open the service link (`/start s_<code>`): the service offered, with its Order button."""
    customer.send(f"/start s_{code}")
    return customer.wait_for(
        lambda m: any(b.text == lang.order for row in m.buttons for b in row), 20, f"the {lang.order} button"
    )


def open_days(
    customer: TelegramUser, code: str, lang: Lingo = ENGLISH, check: Check = no_check
) -> SentMessage:
    """Open the service link and press Order: the days offered (or the message that there are none)."""
    offer = open_offer(customer, code, lang)
    check("offer", offer)
    customer.press(offer, lang.order)
    return customer.wait_for(
        lambda m: lang.pick_day in m.text or lang.no_free_times in m.text, 20, "the days"
    )


def open_times(
    customer: TelegramUser,
    code: str,
    *,
    day_index: int = 0,
    day_label: str | None = None,
    lang: Lingo = ENGLISH,
    check: Check = no_check,
) -> tuple[str, SentMessage]:
    """Open the service link, press Order and pick the day (the `day_index`-th button, or the one labelled
    `day_label`): the day pressed and the message offering its start times."""
    days = open_days(customer, code, lang, check)
    assert lang.pick_day in days.text, days.text
    check("days", days)
    day_label = day_label or days.buttons[day_index // 3][day_index % 3].text
    customer.press(days, day_label)
    return day_label, customer.wait_for(lambda m: lang.pick_time in m.text, 20, "the times")


def pick_time(
    customer: TelegramUser,
    times: SentMessage,
    time_label: str,
    name: str | None = None,
    *,
    lang: Lingo = ENGLISH,
    check: Check = no_check,
) -> SentMessage:
    """Press a start time, then name the order (or skip the name): the summary with Confirm."""
    check("times", times)
    customer.press(times, time_label)
    ask = customer.wait_for(lambda m: lang.name_step in m.text, 20, "the name step")
    check("ask", ask)
    if name is None:
        customer.press(ask, lang.skip)
    else:
        customer.send(name)
    summary = customer.wait_for(lambda m: lang.summary in m.text, 20, "the summary")
    check("summary", summary)
    return summary


def order_number(message: SentMessage) -> int | None:
    found = ORDER_HEADER.match(message.text)
    return int(found.group(1)) if found else None


def confirm(customer: TelegramUser, summary: SentMessage) -> SentMessage:
    """Press Confirm; returns the order card the summary turned into."""
    customer.press(summary, "Confirm")
    return customer.wait_for(
        lambda m: m.message_id == summary.message_id and order_number(m) is not None, 20, "the order card"
    )


@dataclass
class Booked:
    """An owner with a Zoom-enabled service and a customer's order that has its meeting."""

    owner: TelegramUser
    customer: TelegramUser
    shop: Shop
    card: SentMessage  # the customer's order card, with its Join button
    owner_card: SentMessage  # the owner's, with its Join button
    email: str


def book_with_zoom(
    sandbox: Sandbox,
    owner: TelegramUser | None = None,
    customer: TelegramUser | None = None,
    *,
    email: str = "owner@example.com",
    minutes: int = 60,
    name: str = "Session",
    time_label: str | None = None,
) -> Booked:
    """The owner (by default a fresh Olivia) creates a service and connects Zoom (as `email`); the customer
    (by default a fresh Carl) orders on the second offered day; both order cards get their Join button."""
    owner = owner or someone(sandbox, "Olivia")
    customer = customer or someone(sandbox, "Carl")
    shop = zoom_service(sandbox, owner, minutes, name, email)
    order(customer, shop.code, day_index=1, time_label=time_label)
    card = customer.wait_for(has_join, timeout=15, description="the customer's Join button")
    owner_card = owner.wait_for(has_join, timeout=15, description="the owner's Join button")
    return Booked(owner, customer, shop, card, owner_card, email)


def reschedule(user: TelegramUser, card: SentMessage, day_index: int, time_label: str) -> str:
    """Move the order to the `day_index`-th offered day at `time_label`; returns the day's label."""
    user.press(card, "Reschedule")
    days = user.wait_for(
        lambda m: "Reschedule Order" in m.text and "pick a new day" in m.text, description="days"
    )
    day_label = days.buttons[day_index // 3][day_index % 3].text
    user.press(days, day_label)
    times = user.wait_for_text("pick a new start time")
    user.press(times, time_label)
    ask = user.wait_for_text("Move Order")
    user.press(ask, "Confirm")
    user.wait_for_text("rescheduled to")
    return day_label
