"""Greeting, help, leaving a step, time zone, and everything the bot does not handle."""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot import i18n, texts
from bot.errors import UserError
from bot.telegram import menus
from bot.telegram.buttons import Press, Verb, data
from bot.telegram.requests import unparsed
from handlers.client import claim
from handlers.deps import Context, deps, person
from handlers.ordering import open_service
from handlers.render import edit_or_send, send

log = logging.getLogger(__name__)


async def start(update: Update, context: Context) -> None:
    """Greet, or open ordering when the deep link carries a service code."""
    me = person(update)  # already recorded by speak_their_language, which runs first for every update
    payload = context.args[0] if context.args else ""
    if payload.startswith("s_"):
        await open_service(update, context, payload[2:])
        return
    if payload.startswith("o_"):
        await claim(update, context, payload[2:])
        return
    await send(update, i18n.t(texts.GREETING, name=escape(me.first_name)))


async def help_command(update: Update, context: Context) -> None:
    """List what the user can do."""
    await send(update, i18n.t(texts.GREETING, name=escape(person(update).first_name)))


async def cancel(update: Update, context: Context) -> None:
    """Leave the current step."""
    dropped = await deps(context).drafts.drop(person(update).id)
    await send(update, i18n.t(texts.CANCELLED if dropped else texts.NOTHING_TO_CANCEL))


async def timezone(update: Update, context: Context) -> None:
    """Show or set the user's time zone."""
    me = person(update)
    persons = deps(context).persons
    if not context.args:
        await send(update, i18n.t(texts.TIMEZONE_USAGE, current=escape(await persons.timezone_of(me.id))))
        return
    zone = await persons.set_timezone(me, " ".join(context.args))
    await send(update, i18n.t(texts.TIMEZONE_SET, zone=escape(zone)))


async def speak_their_language(update: Update, context: Context) -> None:
    """Before any handler: answer this update in its sender's language (and remember their language_code)."""
    if update.effective_user is None:
        return
    i18n.use(await deps(context).persons.language(person(update)))


async def language(update: Update, context: Context) -> None:
    """/language: English or Russian."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=data(Verb.LANGUAGE, code))
                for code, label in texts.LANGUAGE_BUTTONS.items()
            ]
        ]
    )
    await send(update, i18n.t(texts.LANGUAGE_ASK), keyboard)


async def language_chosen(update: Update, context: Context, press: Press) -> None:
    """A language button: remember the choice and answer in it from now on."""
    wired = deps(context)
    me = person(update)
    chosen = await wired.persons.set_language(me, press.arg(0) or "")
    i18n.use(chosen)
    await edit_or_send(update, i18n.t(texts.LANGUAGE_SET), None)
    menu = wired.owner_commands if await wired.persons.has_owner_menu(me.id) else wired.customer_commands
    await menus.set_for_chat(context.bot, me.id, menu, chosen)


async def group_message(update: Update, context: Context) -> None:
    """Groups are not served."""
    if update.effective_message and update.effective_message.text:
        with unparsed():  # the message sent is not read
            await update.effective_message.reply_text(i18n.t(texts.GROUPS_UNSUPPORTED))


async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have."""
    await send(update, i18n.t(texts.UNKNOWN_COMMAND))


async def not_text(update: Update, context: Context) -> None:
    """Stickers, photos and the like."""
    await send(update, i18n.t(texts.ONLY_TEXT))


async def edited(update: Update, context: Context) -> None:
    """Edits of earlier messages are not re-read."""
    if update.edited_message is not None:
        with unparsed():  # the message sent is not read
            await update.edited_message.reply_text(i18n.t(texts.EDITS_IGNORED))


async def on_error(update: object, context: Context) -> None:
    """Log the failure (type and place only: no update contents, no secrets) and tell the user."""
    error = context.error
    if isinstance(error, UserError) and isinstance(update, Update):
        await _tell(update, str(error))
        return
    log.error("Handler failed: %s", type(error).__name__, exc_info=error)
    if isinstance(update, Update):
        await _tell(update, i18n.t(texts.INTERNAL_ERROR))


async def _tell(update: Update, text: str) -> None:
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        else:
            await send(update, text)
    except TelegramError as exc:
        log.warning("Could not tell the user about an error: %s", type(exc).__name__)
