"""Small helpers for answering: edit the pressed message or send a new one; plain text for alerts."""

from __future__ import annotations

import html
import re

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.telegram.keyboards import keyboard as fast
from bot.telegram.requests import unparsed

_TAG = re.compile(r"<[^>]+>")
# Telegram's refusal of an answer sent after its window (about 15 s after the press).
TOO_LATE = "query is too old"


def plain(text: str) -> str:
    """HTML text as plain text (for callback answers, which have no parse mode)."""
    return html.unescape(_TAG.sub("", text))


async def answer(query: CallbackQuery, text: str | None = None, *, show_alert: bool = False) -> None:
    """Answer a press. One reached after Telegram's answer window (a backlog) was served all the same:
    the refused answer is neither a failure nor worth a second try."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        if TOO_LATE not in exc.message.lower():
            raise


async def edit_or_send(update: Update, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Replace the pressed message, or send a new one when there is nothing to replace (what Telegram
    answers, the message as it now is, is not read: `unparsed` spares parsing it). The keyboard goes as a
    `Keyboard`, which PTB turns into JSON at a tenth of the cost."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            with unparsed():
                await query.edit_message_text(text, reply_markup=fast(keyboard))
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise
        return
    await send(update, text, keyboard)


async def send(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    if update.effective_chat is not None:
        with unparsed():
            await update.effective_chat.send_message(text, reply_markup=fast(keyboard))
