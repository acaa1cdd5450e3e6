"""Russian and English end to end: each person reads the bot in their own language, the other party too."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sandbox.harness import BotProcess, Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.journeys import (
    RUSSIAN,
    connect_zoom,
    create_service,
    has_join,
    order_on_day,
    person,
    zoom_service,
)

JOIN_RU = "Подключиться к встрече"
WEEKDAYS_RU = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
MONTHS_RU = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]


def russian(sandbox: Sandbox, user_id: int, name: str) -> TelegramUser:
    """Someone whose Telegram app is in Russian (Telegram sends `language_code` "ru")."""
    return TelegramUser(sandbox.telegram_server.url, user_id, name, f"user{user_id}", language_code="ru")


def labels(message: SentMessage) -> list[str]:
    return [button.text for row in message.buttons for button in row]


def join_ru(message: SentMessage) -> str | None:
    return next((b.url for row in message.buttons for b in row if b.text == JOIN_RU), None)


def moment_ru(start_utc: str, zone: str) -> str:
    """How a start time reads in Russian, written out here by hand (not by the code under test)."""
    local = datetime.fromisoformat(start_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return (
        f"{WEEKDAYS_RU[local.weekday()]}, {local.day} {MONTHS_RU[local.month - 1]} {local.year}, "
        f"{local:%H:%M} ({zone})"
    )


class RussianOrdering:
    """What a Russian customer reads at each step of ordering a 45-minute Zoom service (a journey `Check`);
    keeps the start time the journey pressed."""

    def __init__(self) -> None:
        self.picked = ""

    def __call__(self, step: str, message: SentMessage) -> None:
        if step == "offer":
            assert "Длительность: 45 минут" in message.text
        elif step == "days":
            for label in labels(message):
                assert re.fullmatch(r"(пн|вт|ср|чт|пт|сб|вс), \d{1,2} \w+\.?", label), label
        elif step == "times":
            assert "« Другие дни" in labels(message)
            self.picked = message.buttons[0][0].text
        elif step == "ask":
            assert labels(message) == ["Пропустить"]
        elif step == "summary":
            assert labels(message) == ["Подтвердить", "Отменить"]
            assert "Длительность: 45 минут" in message.text and "будет создана встреча в Zoom" in message.text


def order_ru(customer: TelegramUser, code: str, day_index: int) -> tuple[SentMessage, str]:
    """Order through the deep link in Russian, checking every step; the order message and the time."""
    checks = RussianOrdering()
    placed, _ = order_on_day(customer, code, lang=RUSSIAN, day_index=day_index, check=checks)
    return placed, checks.picked


def test_russian_owner_and_customer_go_through_everything_in_russian(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    owner, customer = russian(sandbox, 31, "Влад"), russian(sandbox, 32, "Катя")
    owner.send("/start")
    greeting = owner.wait_for_text("Здравствуйте, Влад!")
    assert "/newservice — создать услугу" in greeting.text
    owner.send("/timezone Mars/Olympus")
    assert "мне неизвестен" in owner.wait_for_text("Mars/Olympus").text
    owner.send("/timezone Europe/Moscow")
    owner.wait_for_text("Ваш часовой пояс теперь")
    shop = create_service(owner, 45, "Репетиторство", lang=RUSSIAN)
    assert "Длительность: 45 минут" in shop.card.text and "Zoom: выкл" in shop.card.text
    assert labels(shop.card) == ["Zoom: выкл", "Заказы", "Настройки", "Записать клиента"]
    # The Zoom switch, the login page and the confirmation, all in Russian.
    connected = connect_zoom(sandbox, shop, lang=RUSSIAN)
    assert (
        "Чтобы включить Zoom для" in connected.invite.text and "действует 10 минут" in connected.invite.text
    )
    page = connected.page.text
    assert '<html lang="ru">' in page and "Zoom подключён" in page
    assert "вернуться в Telegram" in page and "Telegram and" not in page
    assert "owner@example.com" in connected.told.text and "Zoom теперь включён" in connected.told.text

    placed, picked = order_ru(customer, shop.code, day_index=1)
    assert "Заказ №1" in placed.text and "Новый" in placed.text and "Репетиторство — Катя" in placed.text
    mine = customer.wait_for(
        lambda m: join_ru(m) is not None, timeout=15, description="Подключиться к встрече"
    )
    assert labels(mine) == [JOIN_RU, "Перенести", "Переименовать", "Длительность", "Отменить", "В календарь"]
    theirs = owner.wait_for(lambda m: join_ru(m) is not None, timeout=15, description="the owner's card")
    assert "Клиент: Катя" in theirs.text
    assert labels(theirs) == [
        JOIN_RU,
        "Подтвердить",
        "Выполнено",
        "Перенести",
        "Переименовать",
        "Длительность",
        "Отклонить",
        "В календарь",
    ]
    meeting = sandbox.zoom_control.meetings()[0]
    start = moment_ru(meeting["start_time"], "Europe/Moscow")
    assert f"Начало: {start}" in mine.text and f"Начало: {start}" in theirs.text
    assert picked in start and "Запись через Telegram: заказ №1." in meeting["agenda"]
    assert "Order" not in mine.text + theirs.text and "Duration" not in mine.text + theirs.text

    # The command menus, as a Russian Telegram app shows them.
    assert {("orders", "Ваши заказы"), ("language", "Язык")} <= set(customer.commands())
    assert {("services", "Ваши услуги"), ("zoom", "Подключение Zoom")} <= set(owner.commands())

    # A reschedule reaches both sides, in Russian, with the Join button.
    customer.press(mine, "Перенести")
    days = customer.wait_for_text("Перенос заказа №1: выберите новый день")
    customer.press(days, days.buttons[0][2].text)
    times = customer.wait_for_text("выберите новое время начала")
    customer.press(times, times.buttons[0][0].text)
    ask = customer.wait_for_text("Перенести заказ №1 с")
    assert labels(ask) == ["Подтвердить", "Назад"]
    customer.press(ask, "Подтвердить")
    customer.wait_for_text("Заказ №1: перенесён на")
    for side in (customer, owner):
        told = side.wait_for(lambda m: "Заказ №1 изменён" in m.text, timeout=20, description="the notice")
        assert "Перенесён" in told.text and " на " in told.text and "(Europe/Moscow)" in told.text
        assert labels(told) == [JOIN_RU] and join_ru(told) == join_ru(mine)
    patched = sandbox.zoom_control.meetings()[0]["start_time"]
    moved = customer.wait_for(lambda m: m.message_id == mine.message_id and "Начало" in m.text, timeout=15)
    assert moment_ru(patched, "Europe/Moscow") in moved.text


def test_an_english_owner_and_a_russian_customer_each_read_their_own_language(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    owner, customer = person(sandbox, 41, "Olivia"), russian(sandbox, 42, "Катя")
    shop = zoom_service(sandbox, owner, 45, "Tutoring")
    placed, _ = order_ru(customer, shop.code, day_index=0)
    assert "Заказ №1" in placed.text and "Order #1" not in placed.text

    theirs = owner.wait_for(has_join, timeout=15, description="the owner's card with Join a meeting")
    assert "Order #1" in theirs.text and "Customer: Катя" in theirs.text and "Duration: 45 min" in theirs.text
    assert labels(theirs) == [
        "Join a meeting",
        "Confirm",
        "Done",
        "Reschedule",
        "Rename",
        "Duration",
        "Reject",
        "Add to calendar",
    ]
    mine = customer.wait_for(lambda m: join_ru(m) is not None, timeout=15, description="the customer's card")
    assert "Длительность: 45 минут" in mine.text

    # The owner confirms in English; the customer is told in Russian, and her card says so.
    owner.press(theirs, "Confirm")
    owner.wait_for(lambda m: m.message_id == theirs.message_id and "Confirmed" in m.text, timeout=15)
    told = customer.wait_for_text("Исполнитель подтвердил заказ №1", timeout=15)
    assert "Tutoring — Катя" in told.text
    customer.wait_for(lambda m: m.message_id == mine.message_id and "Подтверждён" in m.text, timeout=15)

    # The owner changes the duration; both are told, each in their own words.
    owner.press(theirs, "Duration")
    owner.press(owner.wait_for_text("new duration"), "60 min")
    owner.press(owner.wait_for_text("Change the duration"), "Confirm")
    owner.wait_for_text("now 60 min long")
    english = owner.wait_for(lambda m: "Order #1 changed" in m.text, timeout=20, description="owner's notice")
    assert "Duration: 45 min → 60 min" in english.text and labels(english) == ["Join a meeting"]
    notice = customer.wait_for(lambda m: "Заказ №1 изменён" in m.text, timeout=20, description="her notice")
    assert "Длительность: 45 минут → 60 минут" in notice.text and labels(notice) == [JOIN_RU]

    # The customer cancels in Russian; the owner is told in English.
    customer.press(mine, "Отменить")
    customer.press(customer.wait_for_text("Отменить заказ №1?"), "Подтвердить")
    customer.wait_for_text("Заказ №1: отменён.")
    cancelled = owner.wait_for_text("was cancelled by the customer", timeout=15)
    assert (
        "Order #1 (Tutoring — Катя" in cancelled.text
        and "stays in the owner's Zoom account" in cancelled.text
    )
    owner.wait_for(lambda m: m.message_id == theirs.message_id and "Cancelled" in m.text, timeout=15)
    customer.wait_for(lambda m: m.message_id == mine.message_id and "Отменён" in m.text, timeout=15)
    customer.press_data(mine.message_id, "a:1:rs")  # an old Перенести press: refused in her language
    stale = customer.callback_answer(timeout=5)
    assert stale is not None and stale.show_alert and "Заказ №1 отменён" in (stale.text or "")


def test_language_follows_telegram_until_chosen_and_the_choice_is_kept(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    ann = person(sandbox, 51, "Ann")
    ann.send("/help")
    ann.wait_for_text("Hi Ann!")
    assert ("orders", "Your orders") in ann.commands()
    ann.language_code = "ru"  # she switches her Telegram app to Russian
    ann.send("/help")
    ann.wait_for_text("Здравствуйте, Ann!")
    assert ("orders", "Ваши заказы") in ann.commands()

    ann.send("/language")
    ask = ann.wait_for_text("Выберите язык")
    assert labels(ask) == ["English", "Русский"]
    ann.press(ask, "English")
    ann.wait_for_text("I'll speak English with you now.")
    ann.send("/help")
    ann.wait_for_text("Hi Ann!")
    assert ("orders", "Your orders") in ann.commands(), "her own menu follows her choice"
    ann.language_code = "de"
    ann.send("/orders")
    ann.wait_for_text("You have no orders yet.")

    ann.send("/language")
    ann.press(ann.wait_for_text("Choose the language"), "Русский")
    ann.wait_for_text("Теперь я говорю с вами по-русски.")
    ann.send("/orders")
    ann.wait_for_text("У вас пока нет заказов.")
    assert ("orders", "Ваши заказы") in ann.commands()
