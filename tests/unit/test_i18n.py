"""Catalogs, dates and durations per language, and the rule that no user-visible text is left in code."""

from __future__ import annotations

import ast
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import i18n, texts
from bot.errors import UserError
from bot.i18n.catalogs import read_catalog
from bot.i18n.extract import placeholders, template

ROOT = Path(__file__).resolve().parents[2]


def _key(message: object) -> str:
    return repr((getattr(message, "context", None), getattr(message, "id", None)))


@pytest.mark.parametrize("language", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_every_text_in_the_code_is_translated_with_the_same_placeholders(language: str) -> None:
    source = {_key(m): m for m in template() if m.id}
    catalog = {_key(m): m for m in read_catalog(language) if m.id}
    missing = sorted(set(source) - set(catalog))
    assert not missing, f"not in the {language} catalog (run `python -m bot.i18n update`): {missing}"
    unused = sorted(set(catalog) - set(source))
    assert not unused, f"in the {language} catalog but no longer in the code: {unused}"
    problems = []
    for key, message in catalog.items():
        english = message.id if isinstance(message.id, tuple | list) else (message.id,)
        wanted = set().union(*(placeholders(text) for text in english))
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy or not all(forms):
            problems.append(f"{key}: untranslated or fuzzy")
            continue
        for form in forms:
            if placeholders(form) != wanted:
                problems.append(f"{key}: {sorted(placeholders(form))} instead of {sorted(wanted)}")
    assert not problems, "\n".join(problems)


UNTRANSLATED = {"LANGUAGE_BUTTONS"}  # each language's own name, the same for every reader


def test_every_text_of_bot_texts_is_marked_for_the_catalogs() -> None:
    marked = {m.id if isinstance(m.id, str) else tuple(m.id) for m in template() if m.id}
    unmarked = []
    for name, value in vars(texts).items():
        if not name.isupper() or name in UNTRANSLATED:
            continue
        values = value.values() if isinstance(value, dict) else [value]
        values = [
            item
            for v in values
            for item in (v if isinstance(v, tuple) and not isinstance(v, i18n.Plural) else [v])
        ]
        for text in values:
            key = tuple(text) if isinstance(text, i18n.Plural) else text
            if isinstance(text, str | i18n.Plural) and key not in marked:
                unmarked.append(f"{name}: {text!r}")
    assert not unmarked, "wrap these in N_(...) (or Plural/pN_) and translate them:\n" + "\n".join(unmarked)


def test_russian_plurals_have_three_forms() -> None:
    plurals = [m for m in read_catalog("ru") if m.id and isinstance(m.id, tuple | list)]
    assert plurals and all(len(m.string) == 3 for m in plurals)
    assert i18n.render("ru", texts.NO_DAYS, count=1).startswith("В ближайший 1 день")
    assert i18n.render("ru", texts.NO_DAYS, count=3).startswith("В ближайшие 3 дня")
    assert i18n.render("ru", texts.NO_DAYS, count=14).startswith("В ближайшие 14 дней")
    assert i18n.render("ru", texts.NO_DAYS, count=21).startswith("В ближайший 21 день")
    assert i18n.render("en", texts.NO_DAYS, count=1).startswith("There are no free times in the next 1 day.")
    assert i18n.render("en", texts.NO_DAYS, count=14).startswith(
        "There are no free times in the next 14 days."
    )


def test_the_main_buttons_read_as_the_contract_fixes_them() -> None:
    contract = {
        texts.BUTTON_ORDER: "Записаться",
        texts.BUTTON_CONFIRM: "Подтвердить",
        texts.BUTTON_CANCEL: "Отменить",
        texts.BUTTON_SKIP: "Пропустить",
        texts.BUTTON_JOIN: "Подключиться к встрече",
        texts.BUTTON_RESCHEDULE: "Перенести",
        texts.BUTTON_RENAME: "Переименовать",
        texts.BUTTON_DURATION: "Длительность",
        texts.BUTTON_REJECT: "Отклонить",
        texts.BUTTON_ORDERS: "Заказы",
        texts.BUTTON_CONNECT_ZOOM: "Подключить Zoom",
        texts.BUTTON_ZOOM_ON: "Zoom: вкл",
        texts.BUTTON_ZOOM_OFF: "Zoom: выкл",
    }
    assert {key: i18n.render("ru", key) for key in contract} == contract
    card = i18n.render(
        "ru",
        texts.ORDER_CARD,
        id=7,
        status="",
        service="",
        name="",
        start="",
        duration="",
        party="",
        meeting="",
    )
    assert card.startswith("<b>Заказ №7</b>")
    assert i18n.render("en", texts.ORDER_CARD, **dict.fromkeys(placeholders(texts.ORDER_CARD), 7)).startswith(
        "<b>Order #7</b>"
    )


def test_durations_dates_and_day_names_follow_the_language() -> None:
    assert [i18n.render("ru", "{m}", m=i18n.Minutes(n)) for n in (1, 2, 5, 21, 90)] == [
        "1 минута",
        "2 минуты",
        "5 минут",
        "21 минута",
        "90 минут",
    ]
    assert i18n.render("en", "{m}", m=i18n.Minutes(90)) == "90 min"
    moment = i18n.When(datetime(2026, 3, 2, 7, 30, tzinfo=UTC), "Europe/Moscow")
    assert i18n.render("ru", "{m}", m=moment) == "пн, 2 марта 2026, 10:30 (Europe/Moscow)"
    assert i18n.render("en", "{m}", m=moment) == "Mon 02 Mar 2026, 10:30 (Europe/Moscow)"
    assert i18n.render("ru", "{d}", d=i18n.Day(date(2026, 5, 3))) == "вс, 3 мая"
    assert i18n.render("en", "{d}", d=i18n.Day(date(2026, 5, 3))) == "Sun 03 May"


def test_a_queued_text_renders_in_whatever_language_it_is_sent_in() -> None:
    moment = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    told = i18n.Text(texts.TOLD_CANCELLED, {"id": 4, "name": "A &amp; B", "start": i18n.When(moment, "UTC")})
    note = i18n.Text(texts.TOLD_WITH_NOTE, {"told": told, "note": i18n.Text(texts.MEETING_KEPT)})
    stored = i18n.Text.from_json(json.loads(json.dumps(note.to_json())))
    assert stored == note
    assert stored.render("en").startswith("Order #4 (A &amp; B, Tue 01 Dec 2026, 09:00 (UTC)) was cancelled")
    assert stored.render("ru").startswith(
        "Клиент отменил заказ №4 (A &amp; B, вт, 1 декабря 2026, 09:00 (UTC))"
    )
    status = i18n.Text(texts.STATUS_NAMES["done"])
    assert i18n.Text.from_json(json.loads(json.dumps(status.to_json()))).render("ru") == "Выполнен"
    assert i18n.render("ru", texts.BUTTON_DONE) != "Выполнен", "the button and the status are told apart"


def test_the_language_comes_from_the_choice_then_from_telegram() -> None:
    assert i18n.language_for(None, "ru") == "ru" and i18n.language_for(None, "ru-RU") == "ru"
    assert i18n.language_for(None, "uk") == "en" and i18n.language_for(None, None) == "en"
    assert i18n.language_for("en", "ru") == "en" and i18n.language_for("ru", "de") == "ru"
    assert i18n.language_for("xx", "ru") == "ru"


def test_a_user_error_is_told_in_the_language_of_whoever_reads_it() -> None:
    error = UserError(texts.NAME_TOO_LONG, length=300, max=200)
    assert str(error) == "That name has 300 characters; the limit is 200. Please send a shorter one."
    with i18n.speaking("ru"):
        assert "300" in str(error) and "200" in str(error) and "покороче" in str(error)


# No user-visible literal in code -----------------------------------------------------------------

# Calls that show their text arguments to a person; only these arguments are read (not urls, ids, ...).
SINKS = {
    "send_message",
    "reply_text",
    "answer",
    "edit_message_text",
    "edit_or_send",
    "send",
    "reply",
    "_tell",
    "InlineKeyboardButton",
    "BotCommand",
    "UserError",
    "NotAllowed",
    "StaleAction",
    "SlotTaken",
    "CallbackResult",
    "page",
    "button",
    "t",
    "render",
    "Text",
}
TEXT_KEYWORDS = {"text", "label", "description", "message", "title", "reason"}
SCANNED = ("bot", "handlers")
NOT_SCANNED = {"bot/texts.py", "bot/demo.py"}  # the demo types as a simulated person, in English


def _shows_words(node: ast.expr) -> bool:
    """A string literal or f-string with letters in it (a word a person would read)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_shows_words(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _shows_words(node.left) or _shows_words(node.right)
    if isinstance(node, ast.IfExp):
        return _shows_words(node.body) or _shows_words(node.orelse)
    return False


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def literals_in(source: str, path: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        func = node.func
        # `texts.X.format(...)` would put the English text together before anyone knows the reader.
        if (
            name == "format"
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Attribute | ast.Subscript)
            and "texts." in ast.unparse(func.value)
        ):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
        if name not in SINKS:
            continue
        arguments = [*node.args, *(k.value for k in node.keywords if k.arg in TEXT_KEYWORDS)]
        if any(_shows_words(argument) for argument in arguments):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_no_user_visible_literal_is_left_in_the_code() -> None:
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative not in NOT_SCANNED and not relative.startswith("bot/i18n/"):
                found.extend(literals_in(path.read_text(encoding="utf-8"), relative))
    assert not found, "texts belong in bot/texts.py and its catalogs:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        'await chat.send_message("Hello there")',
        'await query.answer(f"{n} more orders", show_alert=True)',
        'InlineKeyboardButton("Order", callback_data="x")',
        'raise UserError("That is not a time zone")',
        "raise UserError(texts.TIMEZONE_BAD.format(value=v))",
        'await edit_or_send(update, "Done" if ok else texts.X, None)',
        'BotCommand("orders", "Your orders")',
        'text = texts.ACTION_ASK["cx"].format(id=1)',
    ],
)
def test_the_scan_finds_literals_wherever_they_are_shown(line: str) -> None:
    assert literals_in(line, "x.py"), line


@pytest.mark.parametrize(
    "line",
    [
        'InlineKeyboardButton(i18n.t(texts.BUTTON_ORDER), callback_data="ob:abc")',
        "await query.answer(None)",
        "raise UserError(texts.NAME_EMPTY, max=10)",
        "await send(update, i18n.t(texts.NO_ORDERS))",
        'await chat.send_message(text + "\\n")',
    ],
)
def test_the_scan_lets_catalog_texts_through(line: str) -> None:
    assert not literals_in(line, "x.py"), line


def test_every_command_of_the_menus_is_described_in_every_language() -> None:
    from handlers.router import CUSTOMER_COMMANDS, OWNER_COMMANDS

    for command, key in [*CUSTOMER_COMMANDS, *OWNER_COMMANDS]:
        assert i18n.render("ru", key) != key, f"/{command}: {key!r} has no Russian (a texts constant?)"
