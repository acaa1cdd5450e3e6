"""Working hours, days off and booking rules, end to end: what customers are offered and what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox.harness import Sandbox
from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support import OWNER_ZONE
from tests.support.databases import query
from tests.support.journeys import (
    Shop,
    create_service,
    new_user_id,
    offered_date,
    open_days,
    open_times,
    order_number,
    order_on_day,
    reach_summary,
    set_hours,
    set_timezone,
    someone,
)
from tests.support.worlds import World

NEW_YORK = "America/New_York"


@pytest.fixture
def sandbox(shared_world: World) -> Sandbox:
    """The module's tests share one bot: each has its own owner and customers (fresh user ids)."""
    return shared_world.sandbox


def today_in(zone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date()


def label(day: date) -> str:
    return day.strftime("%a %d %b")


def labels(message: SentMessage) -> list[str]:
    return [button.text for row in message.buttons for button in row]


def change_setting(owner: TelegramUser, shop: Shop, setting: str, choice: str) -> SentMessage:
    owner.press(shop.card, "Settings")
    card = owner.wait_for_text("Settings of")
    owner.press(card, setting)
    choices = owner.wait_for(
        lambda m: m.message_id == card.message_id and "?" in m.text, description="choices"
    )
    owner.press(choices, choice)
    return owner.wait_for(
        lambda m: m.message_id == card.message_id and "Settings of" in m.text, description="the settings"
    )


def offered_times(customer: TelegramUser, code: str, day: date) -> list[str]:
    """The start times offered on `day`."""
    _, times = open_times(customer, code, day_label=label(day))
    return [text for text in labels(times) if ":" in text]


def test_hours_days_off_step_and_buffer_shape_what_is_offered(sandbox: Sandbox, shared_world: World) -> None:
    owner = someone(sandbox, "Olivia")
    set_timezone(owner, OWNER_ZONE)
    owner.send("/hours")
    week = owner.wait_for_text("Your working hours")
    assert "Mon: 09:00–18:00" in week.text and "Fri: 09:00–18:00" in week.text
    assert "Sat: off" in week.text and "Sun: off" in week.text
    assert labels(week) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    week = set_hours(owner, "mon-sun 10:00-12:00 14:00-15:30")
    assert week.text.count("10:00–12:00, 14:00–15:30") == 7
    shop = create_service(owner, 60, "Lesson")
    tomorrow, day_after = today_in(OWNER_ZONE) + timedelta(days=1), today_in(OWNER_ZONE) + timedelta(days=2)
    owner.send(f"/away {day_after.isoformat()}")
    away = owner.wait_for_text("Your days off")
    assert label(day_after) in away.text and "Active orders" not in away.text

    carl = someone(sandbox, "Carl")
    offered = labels(open_days(carl, shop.code))
    expected = [label(tomorrow + timedelta(days=n)) for n in range(12) if n != 1]  # all but the day off
    assert [text for text in offered if text != label(today_in(OWNER_ZONE))][: len(expected)] == expected
    assert label(day_after) not in offered
    assert offered_times(carl, shop.code, tomorrow) == ["10:00", "10:30", "11:00", "14:00", "14:30"]

    settings = change_setting(owner, shop, "Step", "15 min")
    assert "Step between start times: 15 min" in settings.text
    assert offered_times(carl, shop.code, tomorrow) == [
        "10:00", "10:15", "10:30", "10:45", "11:00", "14:00", "14:15", "14:30",
    ]  # fmt: skip
    settings = change_setting(owner, shop, "Buffer", "30 min")
    assert "Buffer after each meeting: 30 min" in settings.text
    placed, _ = order_on_day(carl, shop.code, day_index=offered.index(label(tomorrow)), time_label="10:00")
    # The module's tests share a database: Carl's only order is the first one of this test, whatever its id.
    [(number,)] = query(
        shared_world.database_url, "SELECT id FROM orders WHERE customer_id = ?", carl.user_id
    )
    assert f"Order #{number}" in placed.text
    # 10:00-11:00 plus 30 minutes of buffer: 11:00 no longer fits before noon; the afternoon stays.
    dora = someone(sandbox, "Dora")
    assert offered_times(dora, shop.code, tomorrow) == ["14:00", "14:15", "14:30"]
    owner.send(f"/away {tomorrow.isoformat()}")
    away = owner.wait_for_text("Your days off")
    assert "Active orders on these days: 1" in away.text
    both = f"{label(tomorrow)} – {label(day_after)}"  # consecutive days off are one run
    assert both in away.text and labels(away) == [f"Remove {both}"]
    owner.press(away, f"Remove {both}")
    listed = owner.wait_for(lambda m: m.message_id == away.message_id and "Your days off" not in m.text)
    assert "You have no days off coming" in listed.text


def test_notice_horizon_and_paging_in_new_york(sandbox: Sandbox) -> None:
    owner = someone(sandbox, "Nora")
    shop = create_service(owner, 30, "Call", zone=NEW_YORK, hours="mon-sun 09:00-17:00")
    change_setting(owner, shop, "Notice", "24 h")
    settings = change_setting(owner, shop, "Horizon", "7 days")
    assert "Notice: 24 h" in settings.text and "Horizon: 7 days" in settings.text

    carl = someone(sandbox, "Carl")
    asked_at = datetime.now(UTC)
    today = today_in(NEW_YORK)
    offered = labels(open_days(carl, shop.code))
    window = [label(today + timedelta(days=n)) for n in range(1, 7)]
    assert set(offered) <= set(window) and window[1:] == [text for text in offered if text != window[0]]
    first = offered_date(offered[0], NEW_YORK)
    zone = ZoneInfo(NEW_YORK)
    for clock in offered_times(carl, shop.code, first):
        hour, minute = map(int, clock.split(":"))
        start = datetime(first.year, first.month, first.day, hour, minute, tzinfo=zone)
        assert start >= asked_at + timedelta(hours=24), clock
    full_day = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]
    assert offered_times(carl, shop.code, today + timedelta(days=3)) == full_day

    change_setting(owner, shop, "Step", "5 min")  # 96 starts a day: more than one keyboard holds
    _, times = open_times(carl, shop.code, day_label=label(today + timedelta(days=3)))
    first_page = [text for text in labels(times) if ":" in text]
    assert first_page[:3] == ["09:00", "09:05", "09:10"] and len(first_page) == 24
    assert "Later »" in labels(times) and "« Earlier" not in labels(times)
    carl.press(times, "Later »")
    second = carl.wait_for(lambda m: m.message_id == times.message_id and "11:00" in labels(m))
    assert [text for text in labels(second) if ":" in text][0] == "11:00"
    assert "« Earlier" in labels(second)


def test_a_slot_on_a_day_marked_off_meanwhile_is_refused_at_confirmation(sandbox: Sandbox) -> None:
    owner = someone(sandbox, "Olivia")
    shop = create_service(owner, 60, "Lesson", zone=OWNER_ZONE, hours="mon-sun 09:00-18:00")
    carl = someone(sandbox, "Carl")
    tomorrow = today_in(OWNER_ZONE) + timedelta(days=1)
    summary = reach_summary(carl, shop.code, day_label=label(tomorrow), time_label="10:00")
    owner.send(f"/away {tomorrow.isoformat()}")
    owner.wait_for_text("Your days off")
    carl.press(summary, "Confirm")
    answer = carl.callback_answer()
    assert answer is not None and f"{label(tomorrow)} has just become a day off" in answer.text
    owner.send("/orders")
    owner.wait_for_text("You have no orders yet")
    assert "Order #" not in carl.transcript()


def test_customers_cannot_change_inside_the_changes_window_but_the_owner_can(sandbox: Sandbox) -> None:
    owner = someone(sandbox, "Olivia")
    shop = create_service(owner, 30, "Chat", zone=OWNER_ZONE, hours="mon-sun 00:00-24:00")
    carl = someone(sandbox, "Carl")
    placed, _ = order_on_day(carl, shop.code)  # the earliest slot: well inside 24 hours from now
    settings = change_setting(owner, shop, "Changes", "24 h")
    assert "Changes by customers: until 24 h before the start" in settings.text

    for action in ("Cancel", "Reschedule", "Rename", "Duration"):
        carl.press(placed, action)
        answer = carl.callback_answer()
        assert answer is not None and "can no longer be changed or cancelled here" in answer.text, action
    stranger = someone(sandbox, "Mallory")
    stranger.send("/start")
    own = stranger.wait_for_text("/newservice")
    service_id = (shop.card.button("Settings").callback_data or "").split(":")[1]
    for forged in (f"sv:{service_id}:st:15", f"se:{service_id}", f"sk:{service_id}:hr"):
        stranger.press_data(own.message_id, forged)
        answer = stranger.callback_answer()
        assert answer is not None and "not yours" in answer.text, forged
    owner.press_data(shop.card.message_id, f"sv:{service_id}:st:7")
    answer = owner.callback_answer()
    assert answer is not None and "not one of the choices" in answer.text

    number = order_number(placed)
    owners_card = next(
        m for m in reversed(owner.bot_messages()) if f"Order #{number}" in m.text and m.buttons
    )
    owner.press(owners_card, "Reschedule")
    days = owner.wait_for_text("pick a new day")
    last = days.buttons[-1][-1].text
    assert offered_date(last, OWNER_ZONE) > today_in(OWNER_ZONE) + timedelta(
        days=60
    )  # the Horizon limits customers only
    owner.press(days, last)
    owner.press(owner.wait_for_text("pick a new start time"), "11:00")
    owner.press(owner.wait_for_text("Move Order"), "Confirm")
    owner.wait_for_text("rescheduled to")
    told = carl.wait_for(lambda m: "Rescheduled" in m.text, timeout=20, description="the reschedule notice")
    assert "11:00" in told.text and last in told.text


def test_bad_input_and_forged_buttons_get_clear_answers_and_change_nothing(sandbox: Sandbox) -> None:
    owner = someone(sandbox, "Olivia")
    shop = create_service(owner, 60, "Lesson", zone=OWNER_ZONE)
    for text, expected in (
        ("/hours mon 09:00-25:00", "25:00 is not a time of day"),
        ("/hours mon 18:00-09:00", "the end is not after the start"),
        ("/hours mon 09:00-12:00 11:00-13:00", "overlap"),
        ("/hours funday 09:00-12:00", "I don't know the day"),
        ("/hours mon", "Send the days and their hours"),
        ("/away 2020-01-01", "is in the past"),
        (f"/away {(today_in(OWNER_ZONE) + timedelta(days=400)).isoformat()}", "more than a year ahead"),
        ("/away tomorrow", "is not a date"),
    ):
        owner.send(text)
        answer = owner.wait_for(lambda m: "e.g." in m.text or "Days off" in m.text, description=text)
        assert (
            expected in answer.text.replace("25:00</b>", "25:00</b>") or expected.strip("<b>/") in answer.text
        )
    owner.send("/hours")
    week = owner.wait_for_text("Your working hours")
    assert "Mon: 09:00–18:00" in week.text and "Sat: off" in week.text  # nothing changed
    owner.send("/away")
    owner.wait_for_text("You have no days off coming")
    for forged in ("hd:9:0", "hd:1:999", "hx:nonce", "ar:20261301:20261302", "sk:1:zz", "bt:1:202601010900"):
        owner.press_data(week.message_id, forged)
        answer = owner.callback_answer()
        assert answer is not None and answer.show_alert, forged

    # A service's own hours and its reminders, through Settings.
    owner.press(shop.card, "Settings")
    settings = owner.wait_for_text("Settings of")
    owner.press(settings, "Hours")
    hours = owner.wait_for(lambda m: m.message_id == settings.message_id and "Hours of" in m.text)
    assert "your weekly hours" in hours.text
    owner.press(hours, "Sat")
    owner.wait_for_text("Send the hours for")
    owner.send("10:00-13:00")
    own = owner.wait_for_text("Hours of")
    assert "Sat: 10:00–13:00" in own.text and "own hours" in own.text
    assert "Use my weekly hours" in str(own.buttons)
    owner.press(shop.card, "Settings")
    settings = owner.wait_for_text("Settings of")
    assert "Hours: its own" in settings.text and "Reminders: 24h 1h" in settings.text
    owner.press(settings, "Reminders")
    owner.wait_for(lambda m: m.message_id == settings.message_id and "reminder times" in m.text)
    owner.send("0m 2h")
    owner.wait_for_text("is not a reminder time")
    owner.send("2h 15m")
    saved = owner.wait_for_text("Reminders: 2h 15m")
    assert "Settings of Lesson" in saved.text
    owner.send("/hours")
    assert "Sat: off" in owner.wait_for_text("Your working hours").text  # the owner's own week is unchanged


def test_hours_away_settings_and_book_for_a_client_read_in_russian(sandbox: Sandbox) -> None:
    owner_id = new_user_id()
    owner = TelegramUser(
        sandbox.telegram_server.url, owner_id, "Ольга", f"user{owner_id}", language_code="ru"
    )
    owner.send("/hours")
    week = owner.wait_for_text("Ваши рабочие часы")
    assert "пн: 09:00–18:00" in week.text and "сб: выходной" in week.text, week.text
    assert labels(week) == ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
    owner.press(week, "сб")
    asked = owner.wait_for_text("Пришлите часы на сб")
    assert labels(asked) == ["сб: выходной"]
    owner.send("10:00-14:00")
    week = owner.wait_for_text("сб: 10:00–14:00")
    assert "Ваши рабочие часы" in week.text and "вс: выходной" in week.text
    owner.send("/hours сб 10:00")
    owner.wait_for_text("Не знаю такого дня: сб")
    owner.send("/away")
    owner.wait_for_text("Ближайших выходных нет")

    owner.send("/newservice 45 Консультация")
    card = owner.wait_for(lambda m: "Ссылка для клиентов" in m.text, description="the service card")
    assert {"Настройки", "Записать клиента"} <= set(labels(card)), labels(card)
    owner.press(card, "Настройки")
    settings = owner.wait_for_text("Настройки услуги Консультация")
    for line in ("Длительность: 45 минут", "Шаг между началами: 30 минут", "Запись вперёд на: 14 дней"):
        assert line in settings.text, settings.text
    assert "Часы: ваши общие часы" in settings.text
    owner.press(card, "Записать клиента")
    owner.wait_for_text("Запись клиента на Консультация (45 минут). Выберите день")
