"""The Telegram sandbox, driven by the real python-telegram-bot client over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
    WebhookInfo,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from sandbox.server import ServedApp, free_port
from sandbox.telegram import TelegramSandbox
from sandbox.telegram.client import TelegramUser
from tests.support.emulator import ANN, TOKEN, Served
from tests.support.waiting import eventually_async

BOB = 202


async def parked(served: Served, poll: asyncio.Task[object]) -> None:
    """Wait until the long poll `poll` waits at the emulator (or has ended)."""
    await eventually_async(
        lambda: served.sandbox.state.updates.polling() or poll.done(),
        5,
        "the long poll reaching the emulator",
    )


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


# Identity, envelope, parameters


async def test_get_me_describes_a_bot_in_privacy_mode(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.username, me.is_bot, me.id) == ("sandbox_booking_bot", True, 7000000001)
    assert me.can_join_groups and not me.can_read_all_group_messages and not me.supports_inline_queries


async def test_wrong_token_and_unknown_method_answer_like_telegram(served: Served) -> None:
    with pytest.raises(InvalidToken, match="was rejected by the server"):
        async with Bot("7000000001:wrong", base_url=f"{served.url}/bot"):
            pass
    async with httpx.AsyncClient(base_url=served.url, trust_env=False) as http:
        unauthorized = await http.post("/bot7000000001:wrong/getMe")
        unknown = await http.post(f"/bot{TOKEN}/sendTelepathy")
        lowercase_get = await http.get(f"/bot{TOKEN}/GETME")
    assert (unauthorized.status_code, unauthorized.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found: method not found"
    assert lowercase_get.json()["result"]["username"] == "sandbox_booking_bot"


async def test_json_and_query_string_parameters_work_like_forms(served: Served) -> None:
    served.user().send("/start")
    async with httpx.AsyncClient(base_url=f"{served.url}/bot{TOKEN}", trust_env=False) as http:
        by_json = await http.post("/sendMessage", json={"chat_id": ANN, "text": "json"})
        by_query = await http.get("/sendMessage", params={"chat_id": str(ANN), "text": "query"})
        unknown_chat = await http.post("/sendMessage", data={"chat_id": "999", "text": "hi"})
    assert by_json.json()["result"]["text"] == "json" and by_query.json()["result"]["text"] == "query"
    assert unknown_chat.status_code == 400
    assert unknown_chat.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat not found",
    }


# Sending and editing


async def test_send_edit_and_not_modified(served: Served, bot: Bot) -> None:
    ann = served.user()
    ann.send("/start")
    markup = keyboard(InlineKeyboardButton("Order", callback_data="order:1"))
    sent = await bot.send_message(ANN, "Pick a slot", reply_markup=markup)
    assert (sent.message_id, sent.chat.type, sent.from_user.is_bot) == (2, "private", True)

    edited = await bot.edit_message_text("Slot 10:00", ANN, sent.message_id, reply_markup=markup)
    assert edited.edit_date is not None and edited.reply_markup == markup
    with pytest.raises(BadRequest, match="^Message is not modified: specified new message content"):
        await bot.edit_message_text("Slot 10:00", ANN, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", ANN, 99)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", ANN, 1)

    seen = ann.last()
    assert (seen.text, seen.edits, seen.button("Order").callback_data) == ("Slot 10:00", 1, "order:1")
    assert seen.raw["history"][0]["text"] == "Pick a slot"

    reply = await bot.send_message(ANN, "Got it", reply_parameters=ReplyParameters(1))
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "/start"
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(ANN, "?", reply_parameters=ReplyParameters(99))


async def test_edit_without_reply_markup_removes_the_keyboard(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    sent = await bot.send_message(
        ANN, "Card", reply_markup=keyboard(InlineKeyboardButton("On", callback_data="t"))
    )
    edited = await bot.edit_message_text("Card (saved)", ANN, sent.message_id)
    assert edited.reply_markup is None and served.user().last().buttons == []
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(ANN, sent.message_id, reply_markup=None)


async def test_inline_keyboard_validation(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    cases = {
        "Button_data_invalid": InlineKeyboardButton("Long", callback_data="x" * 65),
        "Button_url_invalid": InlineKeyboardButton("Local", url="http://localhost:8080/zoom"),
        "Unsupported url protocol": InlineKeyboardButton("FTP", url="ftp://files.example.com/a"),
        "Text buttons are unallowed in the inline keyboard": InlineKeyboardButton("Just text"),
    }
    for message, button in cases.items():
        with pytest.raises(BadRequest, match=f"(?i){message}"):
            await bot.send_message(ANN, "x", reply_markup=keyboard(button))
    cyrillic_64_bytes = "д" * 32
    ok = await bot.send_message(
        ANN,
        "ok",
        reply_markup=keyboard(
            InlineKeyboardButton("Cyrillic", callback_data=cyrillic_64_bytes),
            InlineKeyboardButton("Loopback", url="http://127.0.0.1:8080/zoom"),
        ),
    )
    assert ok.reply_markup is not None
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(
            ANN, "x", reply_markup=keyboard(InlineKeyboardButton("C", callback_data="д" * 33))
        )


async def test_reply_keyboards_are_recorded_but_not_returned(served: Served, bot: Bot) -> None:
    ann = served.user()
    ann.send("/start")
    sent = await bot.send_message(ANN, "Minutes?", reply_markup=ReplyKeyboardMarkup([["30", "60"]]))
    assert sent.reply_markup is None and ann.reply_keyboard() == [["30", "60"]]


async def test_html_is_parsed_into_utf16_entities(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    html = '😀 <b>Zoom</b> &lt;on&gt; <a href="https://example.com/j/1">join</a> <code>a&amp;b</code>'
    sent = await bot.send_message(ANN, html, parse_mode="HTML")
    assert sent.text == "😀 Zoom <on> join a&b"
    kinds = [(e.type, e.offset, e.length) for e in sent.entities]
    assert kinds == [("bold", 3, 4), ("text_link", 13, 4), ("code", 18, 3)]
    assert sent.parse_entities([MessageEntity.BOLD]) == {sent.entities[0]: "Zoom"}
    assert sent.entities[1].url == "https://example.com/j/1"
    # Like Telegram, an "&" that starts no entity is kept as it is (only "<" must be escaped).
    assert (await bot.send_message(ANN, "Q&A <b>now</b>", parse_mode="HTML")).text == "Q&A now"
    markdown = await bot.send_message(ANN, "*Order* \\#1\\.", parse_mode="MarkdownV2")
    assert (markdown.text, markdown.entities[0].type, markdown.entities[0].length) == ("Order #1.", "bold", 5)


async def test_bad_markup_and_lengths_are_refused(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    refusals = {
        "<b>open": 'can\'t find end tag corresponding to start tag "b"',
        "1 < 2": 'unsupported start tag "" at byte offset 2',
        "line<br>break": 'unsupported start tag "br" at byte offset 4',
        "<b>x</i>": "unmatched end tag",
    }
    for text, reason in refusals.items():
        with pytest.raises(BadRequest) as refused:
            await bot.send_message(ANN, text, parse_mode="HTML")
        assert refused.value.message.lower() == f"can't parse entities: {reason}".lower() or (
            reason == "unmatched end tag" and reason in refused.value.message.lower()
        )
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ANN, "<b>  </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ANN, "😀" * 2049)  # 2049 characters, 4098 UTF-16 code units
    long_markup = await bot.send_message(ANN, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert len(long_markup.text) == 4096
    with pytest.raises(BadRequest, match="is reserved and must be escaped"):
        await bot.send_message(ANN, "Order #1.", parse_mode="MarkdownV2")


async def test_deleting_messages(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    first = await bot.send_message(ANN, "one")
    second = await bot.send_message(ANN, "two")
    assert await bot.delete_message(ANN, first.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ANN, first.message_id)
    served.control.advance_clock(49 * 3600)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ANN, second.message_id)
    assert [m.text for m in served.user().messages()] == ["/start", "two"]


# Receiving updates


async def test_get_updates_offsets(served: Served, bot: Bot) -> None:
    ann = served.user()
    for text in ("/start s_abc", "hello", "bye"):
        ann.send(text)
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["/start s_abc", "hello", "bye"]
    command = updates[0].message.entities[0]
    assert (command.type, command.offset, command.length) == ("bot_command", 0, 6)
    assert [u.update_id for u in updates] == list(range(updates[0].update_id, updates[0].update_id + 3))
    assert len(await bot.get_updates()) == 3  # nothing confirmed yet
    assert [u.message.text for u in await bot.get_updates(offset=updates[1].update_id)] == ["hello", "bye"]
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["bye"]
    assert await bot.get_updates(offset=updates[2].update_id + 1) == ()


async def test_long_poll_returns_as_soon_as_a_message_arrives(served: Served, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await parked(served, poll)
    assert not poll.done()
    await asyncio.to_thread(served.user().send, "wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.message.text for u in updates] == ["wake up"] and time.monotonic() - started < 3
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9


def test_a_long_poll_abandoned_by_its_client_ends_with_it() -> None:
    server = ServedApp(TelegramSandbox(TOKEN).app).start()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{server.url}/bot{TOKEN}/getUpdates", data={"timeout": "40"}, timeout=0.5, trust_env=False
        )
    started = time.monotonic()
    server.stop()  # uvicorn waits for requests in flight: the poll must have ended with its connection
    assert time.monotonic() - started < 3


async def test_a_second_poller_terminates_the_first(served: Served, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=20))
    await parked(served, first)
    async with Bot(TOKEN, base_url=f"{served.url}/bot") as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)


async def test_get_updates_conflicts_with_a_webhook(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    assert await bot.set_webhook(f"http://127.0.0.1:{free_port()}/telegram/webhook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


async def test_allowed_updates_filters_new_updates(served: Served, bot: Bot) -> None:
    ann = served.user()
    await bot.get_updates(allowed_updates=["callback_query"])
    ann.send("not for the bot")
    assert await bot.get_updates() == ()
    await bot.get_updates(allowed_updates=[])
    ann.send("/start")
    assert [u.message.text for u in await bot.get_updates()] == ["/start"]


async def test_person_side_updates(served: Served, bot: Bot) -> None:
    ann = served.user()
    first = ann.send("/start")
    ann.edit(first, "/help")
    ann.send_sticker()
    ann.send_in_group(-500, "hello everyone")  # privacy mode: the bot does not see this
    ann.send_in_group(-500, "/start@sandbox_booking_bot")
    updates = await bot.get_updates()
    assert updates[1].edited_message.text == "/help" and updates[1].edited_message.edit_date is not None
    assert updates[2].message.sticker is not None and updates[2].message.text is None
    group = updates[3].message
    assert (group.chat.type, group.text, len(updates)) == ("group", "/start@sandbox_booking_bot", 4)
    assert (await bot.send_message(-500, "Groups are not supported")).chat.id == -500
    group_chat = [(m.from_bot, m.text) for m in served.control.chat(-500)]
    assert group_chat == [
        (False, "hello everyone"),
        (False, "/start@sandbox_booking_bot"),
        (True, "Groups are not supported"),
    ]


# Buttons and callback queries


async def test_a_real_application_polls_answers_and_edits(served: Served) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        toggle = keyboard(InlineKeyboardButton("Zoom: Off", callback_data="zoom"))
        await update.message.reply_text(f"Service {context.args[0]}", reply_markup=toggle)

    async def zoom(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Zoom is on")
        toggle = keyboard(InlineKeyboardButton("Zoom: On", callback_data="zoom"))
        await update.callback_query.edit_message_reply_markup(toggle)

    application = ApplicationBuilder().token(TOKEN).base_url(f"{served.url}/bot").build()
    application.add_handlers([CommandHandler("start", start), CallbackQueryHandler(zoom)])
    ann = served.user()
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=10)
        await asyncio.to_thread(ann.send, "/start s_abc")
        card = await asyncio.to_thread(ann.wait_for_text, "Service s_abc")
        await asyncio.to_thread(ann.press, card, "Zoom")
        await asyncio.to_thread(ann.wait_for, lambda m: m.buttons[0][0].text == "Zoom: On")
        answer = await asyncio.to_thread(ann.callback_answer)
        await application.updater.stop()
        await application.stop()
    assert answer is not None and answer.text == "Zoom is on"
    assert ann.transcript() == "user: /start s_abc\nbot (edited 1x): Service s_abc\n  [Zoom: On]"


async def test_callback_query_and_its_answer(served: Served, bot: Bot) -> None:
    ann = served.user()
    ann.send("/start")
    card = await bot.send_message(
        ANN, "Card", reply_markup=keyboard(InlineKeyboardButton("Zoom: Off", callback_data="z"))
    )
    assert ann.press(ann.last(), "Zoom") is None
    query = (await bot.get_updates())[-1].callback_query
    assert (query.data, query.message.message_id, query.from_user.id) == ("z", card.message_id, ANN)
    assert query.chat_instance
    assert await query.answer("Zoom is on", show_alert=True)
    answer = ann.callback_answer()
    assert answer is not None and (answer.text, answer.show_alert) == ("Zoom is on", True)
    with pytest.raises(
        BadRequest, match="Query is too old and response timeout expired or query id is invalid"
    ):
        await query.answer()

    ann.press_data(card.message_id, "forged")
    late = (await bot.get_updates(offset=-1))[0].callback_query
    served.control.advance_clock(16)
    with pytest.raises(BadRequest, match="Query is too old"):
        await late.answer()
    assert ann.callback_answer(timeout=0.1) is None


async def test_url_buttons_open_without_an_update(served: Served, bot: Bot) -> None:
    ann = served.user()
    ann.send("/start")
    await bot.send_message(
        ANN,
        "Join",
        reply_markup=keyboard(InlineKeyboardButton("Join a meeting", url="https://zoom.example.com/j/1")),
    )
    assert ann.press(ann.last(), "Join") == "https://zoom.example.com/j/1"
    assert [u.message for u in await bot.get_updates()][-1].text == "/start"
    with pytest.raises(LookupError, match="Join a meeting"):
        ann.press(ann.last(), "Cancel")


# Commands


async def test_command_menus_resolve_per_chat(served: Served, bot: Bot) -> None:
    owner, customer = served.user(ANN, "Ann"), served.user(BOB, "Bob")
    owner.send("/start")
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("orders", "My orders")], scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(
        [BotCommand("bestellungen", "Bestellungen")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="de",
    )
    await bot.set_my_commands([BotCommand("services", "My services")], scope=BotCommandScopeChat(ANN))
    assert owner.commands() == [("services", "My services")]
    assert customer.commands() == [("orders", "My orders")]
    assert TelegramUser(served.url, 303, "Carl", language_code="de").commands() == [
        ("bestellungen", "Bestellungen")
    ]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(ANN))] == ["services"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(ANN))
    assert owner.commands() == [("orders", "My orders")]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Book-Now", "Book")])
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([BotCommand("x", "x")], scope=BotCommandScopeChat(BOB))


# Faults


async def test_injected_flood_control_maps_to_retry_after(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    served.control.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ANN, "hi")
    assert flood.value.retry_after == timedelta(seconds=3)
    assert (await bot.send_message(ANN, "hi")).text == "hi"

    served.control.fail_next("sendMessage", retry_after=7)
    async with httpx.AsyncClient(trust_env=False) as http:
        raw = await http.post(f"{served.url}/bot{TOKEN}/sendMessage", data={"chat_id": ANN, "text": "x"})
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "7"
    assert raw.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    statuses = [call.status for call in served.control.calls("sendmessage")]
    assert statuses == [429, 200, 429]


async def test_per_chat_flood_limit_and_gateway_errors(served: Served, bot: Bot) -> None:
    served.user().send("/start")
    served.control.set_flood_limit(2, per_seconds=60)
    await bot.send_message(ANN, "1")
    await bot.send_message(ANN, "2")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ANN, "3")
    assert timedelta(seconds=1) <= flood.value.retry_after <= timedelta(seconds=60)
    served.control.clear_faults()
    served.control.fail_next("*", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(ANN, "4")
    served.control.fail_next("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(ANN, "5")
    served.control.set_delay(0.5, "sendMessage")
    started = time.monotonic()
    await bot.send_message(ANN, "slow")
    assert time.monotonic() - started >= 0.5


async def test_a_gateway_error_after_commit_delivers_the_message_and_answers_the_error(
    served: Served, bot: Bot
) -> None:
    served.user().send("/start")
    served.control.fail_next("sendMessage", status=502, commit=True)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(ANN, "delivered, answer lost")
    served.control.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(ANN, "never delivered")
    texts = [m.text for m in served.control.chat(ANN)]
    assert "delivered, answer lost" in texts and "never delivered" not in texts


async def test_overall_flood_limit_counts_every_chat_and_not_refused_sends(served: Served, bot: Bot) -> None:
    cat = 303
    for user_id, name in ((ANN, "Ann"), (BOB, "Bob"), (cat, "Cat")):
        served.user(user_id, name).send("/start")
    served.control.set_overall_limit(3, per_seconds=60)
    await bot.send_message(ANN, "1")
    sent = await bot.send_message(BOB, "2")
    await bot.edit_message_text("2 edited", chat_id=BOB, message_id=sent.message_id)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(cat, "over the overall limit")
    assert timedelta(seconds=1) <= flood.value.retry_after <= timedelta(seconds=60)
    served.control.advance_clock(61)
    await bot.send_message(ANN, "after the window")
    assert [m.text for m in served.user(ANN, "Ann").bot_messages()] == ["1", "after the window"]
    assert served.user(cat, "Cat").bot_messages() == []

    served.control.set_flood_limit(1, per_seconds=60)
    served.control.set_overall_limit(2, per_seconds=60)
    async with httpx.AsyncClient(trust_env=False) as http:
        described = (await http.get(f"{served.url}/sandbox/faults")).json()
    assert described["overall_limit"] == {"max_messages": 2, "per_seconds": 60.0}
    await bot.send_message(ANN, "a")
    with pytest.raises(RetryAfter):
        await bot.send_message(ANN, "refused by the chat's limit")
    await bot.send_message(BOB, "the refused send took no share of the overall limit")
    with pytest.raises(RetryAfter):
        await bot.send_message(cat, "refused by the overall limit")
    served.control.set_overall_limit(None)
    await bot.send_message(cat, "overall limit off")
    served.control.clear_faults()
    assert (await bot.send_message(ANN, "limits off")).text == "limits off"


async def test_blocked_user(served: Served, bot: Bot) -> None:
    ann = served.user()
    ann.send("/start")
    ann.block_bot()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ANN, "Reminder")
    member = (await bot.get_updates())[-1].my_chat_member
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("member", "kicked")
    ann.unblock_bot()
    assert (await bot.send_message(ANN, "Welcome back")).text == "Welcome back"


# Webhooks


@dataclass
class Delivery:
    update_id: int
    chat_id: int
    secret: str | None
    status: int
    at: float


def webhook_receiver(log: list[Delivery], failing_update: list[int]) -> Starlette:
    """Records every delivery; answers 500 the first time it sees the update id in `failing_update`."""

    async def receive(request: Request) -> Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        failing = update["update_id"] in failing_update
        if failing:
            failing_update.remove(update["update_id"])
        status = 500 if failing else 200
        secret = request.headers.get("x-telegram-bot-api-secret-token")
        log.append(Delivery(update["update_id"], chat_id, secret, status, time.monotonic()))
        return JSONResponse({}, status_code=status)

    return Starlette(routes=[Route("/telegram/webhook", receive, methods=["POST"])])


async def test_webhook_delivery_is_per_chat_ordered_with_retries(served: Served, bot: Bot) -> None:
    served.control.configure(webhook_retry={"base_delay": 0.3, "max_delay": 1.0})
    log: list[Delivery] = []
    ann, bob = served.user(ANN, "Ann"), served.user(BOB, "Bob")
    ann.send("/start")
    failing = [served.control.updates()[-1]["update_id"]]
    with ServedApp(webhook_receiver(log, failing)) as receiver:
        with pytest.raises(BadRequest, match="Secret token contains unallowed characters"):
            await bot.set_webhook(f"{receiver.url}/telegram/webhook", secret_token="not secret!")
        assert await bot.set_webhook(f"{receiver.url}/telegram/webhook", secret_token="s3cret_-token")
        ann.send("second")
        bob.send("/start")
        await eventually_async(lambda: len([d for d in log if d.status == 200]) == 3, 10, "three deliveries")

        async def delivered() -> WebhookInfo | None:
            # An update stops pending once the emulator has read the receiver's 200, which comes after the
            # receiver logged it.
            info = await bot.get_webhook_info()
            return info if info.pending_update_count == 0 else None

        info = await eventually_async(delivered, 10, "no update pending after the three deliveries")
    assert {d.secret for d in log} == {"s3cret_-token"}
    ann_deliveries = [(d.update_id, d.status) for d in log if d.chat_id == ANN]
    assert ann_deliveries == [
        (failing_id := ann_deliveries[0][0], 500),
        (failing_id, 200),
        (failing_id + 1, 200),
    ]
    retried = next(d for d in log if d.chat_id == ANN and d.status == 200)
    assert next(d for d in log if d.chat_id == BOB).at < retried.at  # Bob was not held up by Ann's queue
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


# The person's view and the CLI


async def test_wait_for_sees_what_changed_since_the_last_action(served: Served, bot: Bot) -> None:
    ann = served.user()
    ann.send("/start")
    hello = await bot.send_message(
        ANN,
        "Hello <b>Ann</b>",
        parse_mode="HTML",
        reply_markup=keyboard(
            InlineKeyboardButton("Order", callback_data="o"),
            InlineKeyboardButton("Site", url="https://example.com/"),
        ),
    )
    assert ann.wait_for_text("Hello").text == "Hello Ann"
    ann.send("/start")  # asked again: the earlier answer is not the answer to this
    with pytest.raises(AssertionError) as timeout:
        ann.wait_for_text("Hello", timeout=0.2)
    assert "message 2, from before the last action, matches" in str(timeout.value)
    dump = "user: /start\nbot: Hello Ann\n  [Order] [Site](https://example.com/)\nuser: /start"
    assert dump in str(timeout.value)
    await bot.edit_message_text("Hello again", ANN, hello.message_id)
    assert ann.wait_for_text("Hello").text == "Hello again"  # an edit is a change


def test_command_line_serves_the_emulator() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox.telegram", "--port", str(port), "--token", TOKEN],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", trust_env=False)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert answer.json()["result"]["username"] == "sandbox_booking_bot"
    finally:
        server.terminate()
        server.wait(timeout=10)


# The control API's wait for a chat's next change (what the benchmark's customers ask instead of polling)


async def test_a_chat_read_with_after_and_wait_answers_at_that_chats_next_change(
    served: Served, bot: Bot
) -> None:
    ann, bob = served.user(), served.user(BOB, "Bob")
    ann.send("/start")
    bob.send("/start")
    seen_by_ann = ann._since
    world = served.sandbox.state.world
    waiting = asyncio.create_task(asyncio.to_thread(ann.changes_after, seen_by_ann, 20))
    await eventually_async(lambda: ANN in world._watchers, 5, "Ann's read waiting at the emulator")
    await bot.send_message(BOB, "for Bob")  # another chat's change leaves Ann's read waiting
    assert ANN in world._watchers and not waiting.done()
    await bot.send_message(ANN, "for Ann")
    messages, seq = await asyncio.wait_for(waiting, 10)
    assert [m.text for m in messages] == ["/start", "for Ann"] and seq > seen_by_ann
    assert ANN not in world._watchers
    # Changed already after `after`: at once; nothing changed: after `wait`, as it stands.
    again, _ = await asyncio.wait_for(asyncio.to_thread(ann.changes_after, seen_by_ann, 20), 10)
    assert [m.text for m in again] == ["/start", "for Ann"]
    unchanged, same = await asyncio.to_thread(ann.changes_after, seq, 0.2)
    assert [m.text for m in unchanged] == ["/start", "for Ann"] and same == seq and ANN not in world._watchers
