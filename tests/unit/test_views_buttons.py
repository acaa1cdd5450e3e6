"""bot/telegram/views.py makes each button once while it is in use and fingerprints a keyboard from its
buttons' dicts: the keyboards and fingerprints must be those of buttons made afresh for every view, and of
`keyboard.to_dict()` (a fingerprint is stored with a card and compared with one computed later, maybe by
another replica or version)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LoginUrl

from bot import i18n, slots
from bot.domain import MeetingState, Order, OrderAction, OrderStatus, Service
from bot.services.orders import OrderCard
from bot.telegram import keyboards, views
from bot.telegram.buttons import Verb

SERVICE = Service(7, "abcDEF123", 1, "Consult <b>", 45, "Europe/Berlin", True)
START = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # Berlin's spring forward that night


def ptb_fingerprint(text: str, keyboard: InlineKeyboardMarkup | None) -> str:
    """The fingerprint as it was computed before: of PTB's own dict of the keyboard."""
    markup = keyboard.to_dict() if keyboard is not None else None
    content = json.dumps([text, markup], sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


def fresh(keyboard: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard of buttons made afresh (as every view made them before)."""
    if keyboard is None:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.callback_data, url=b.url) for b in row]
            for row in keyboard.inline_keyboard
        ]
    )


def orders() -> list[Order]:
    found = []
    for status, state, join_url, client in product(
        OrderStatus, MeetingState, [None, "https://zoom.example/j/1"], [None, "Carol"]
    ):
        found.append(
            Order(11, 7, "Consult", 1, 2, "Alice & Bob", "Talk", START, 45, "Europe/Berlin", status, 3, True,
                  state, "quota <exceeded>", join_url, client, "inv1" if client else None)
        )  # fmt: skip
    return found


def views_shown() -> list[views.View]:
    starts = slots.day_starts(date(2027, 3, 28), slots.Rules("Europe/Berlin", 30, week=(((0, 1440),),) * 7))
    days = [date(2027, 3, 26) + timedelta(days=offset) for offset in range(14)]
    shown: list[views.View] = [
        views.service_card(SERVICE, "the_bot"),
        views.service_offer(SERVICE),
        ("days", views.days_keyboard(days, Verb.ORDER_TIMES, SERVICE.code)),
        ("durations", views.duration_keyboard(Verb.DURATION_PICKED, 11)),
        ("hours", views.hours_keyboard(7, own=True)),
        ("join", views.join_keyboard("https://zoom.example/j/1")),
        ("no join", views.join_keyboard(None)),
        ("retry", views.retry_keyboard(11)),
        ("feed", views.calendar_feed_keyboard()),
        ("day off", views.day_off_keyboard("n0nce", "Mon")),
        ("away", views.days_off_keyboard([(days[0], days[2]), (days[5], days[5])], ["a", "b"])),
        views.settings_card(SERVICE, "24h 1h"),
        ("choices", views.setting_choices(SERVICE, "no", (0, 60, 120, 1440), 60)),
        ("reminders", views.reminder_choices(SERVICE)),
        ("empty", InlineKeyboardMarkup([])),
    ]
    for page in range(3):
        keyboard = views.times_keyboard(
            starts,
            "Europe/Berlin",
            Verb.ORDER_TIME,
            SERVICE.code,
            "back",
            page_verb=Verb.ORDER_TIMES,
            page=page,
        )
        shown.append(("times", keyboard))
    shown.append(("times", views.times_keyboard(starts, "Asia/Kathmandu", Verb.CLIENT_TIME, 7, "back")))
    for order in orders():
        for role, can_create, can_retry in product(["owner", "customer"], [False, True], [False, True]):
            shown.append(views.card_view(OrderCard(order, role, can_create, can_retry, "the_bot")))
        shown.append(views.reminder_view(order))
        shown.append(("confirm", views.confirm_keyboard(order, OrderAction.RESCHEDULE, "202703281030")))
    return shown


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_views_show_and_fingerprint_as_with_buttons_made_afresh(language: str) -> None:
    with i18n.speaking(language):
        for _ in range(2):  # the second time, every button is one made before
            for text, keyboard in views_shown():
                again = fresh(keyboard)
                assert (keyboard.to_dict() if keyboard else None) == (again.to_dict() if again else None)
                assert views.fingerprint(text, keyboard) == ptb_fingerprint(text, keyboard)
                assert views.fingerprint(text, keyboard) == ptb_fingerprint(text, again)


def test_a_button_made_elsewhere_with_the_same_label_and_data_is_fingerprinted_as_itself() -> None:
    made = views.button("Order", callback_data="os:abc")
    login = InlineKeyboardButton("Order", login_url=LoginUrl("https://example.com"), callback_data="os:abc")
    for keyboard in (
        InlineKeyboardMarkup([[made]]),
        InlineKeyboardMarkup([[login]]),
        InlineKeyboardMarkup([[made, InlineKeyboardButton("Order", callback_data="os:abc")]]),
        InlineKeyboardMarkup([[made]], api_kwargs={"extra": 1}),
    ):
        assert views.fingerprint("text", keyboard) == ptb_fingerprint("text", keyboard)


def test_buttons_beyond_the_kept_ones_are_made_again() -> None:
    kept = views.MadeButtons(size=2)
    first = kept.get("a", "x:1", None)
    assert kept.get("a", "x:1", None) is first
    kept.get("b", "x:2", None)
    kept.get("c", "x:3", None)  # lets "a" go
    again = kept.get("a", "x:1", None)
    assert again is not first and again.to_dict() == first.to_dict()


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_views_make_keyboards_sent_as_they_are_and_equal_to_ptbs_markup(language: str) -> None:
    """A view's keyboard is a `Keyboard` already (render and Delivery send it without making it again),
    and it is PTB's markup of the same rows in every way a reader can tell: its dict, its JSON, equality."""
    with i18n.speaking(language):
        for text, shown in views_shown():
            if shown is None or text == "empty":  # "empty" is the test's own markup
                continue
            ptb = InlineKeyboardMarkup(shown.inline_keyboard)
            assert keyboards.keyboard(shown) is shown
            assert json.dumps(shown.to_dict()) == json.dumps(ptb.to_dict())
            assert shown == ptb and ptb == shown
