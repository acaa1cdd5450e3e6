"""Calendars: an order's `.ics` file (the Add to calendar button) and the private feed (/calendar)."""

from __future__ import annotations

from html import escape

from telegram import InputFile, Update

from bot import i18n, texts
from bot.telegram import views
from bot.telegram.buttons import Press
from handlers.deps import Context, deps, person
from handlers.render import send


async def order_file(update: Update, context: Context, press: Press) -> None:
    """Add to calendar on an order card: send `order-<n>.ics`."""
    calendar_file = await deps(context).calendars.order_file(person(update).id, press.int_arg(0))
    chat = update.effective_chat
    if chat is not None:
        await chat.send_document(
            InputFile(calendar_file.content, filename=calendar_file.filename),
            caption=i18n.t(texts.CALENDAR_FILE_CAPTION, id=press.int_arg(0)),
        )


async def feed(update: Update, context: Context) -> None:
    """/calendar: the user's private feed URL (made on first use), with a New link button."""
    url = await deps(context).calendars.link_if_none(person(update).id)
    text = i18n.t(texts.CALENDAR_FEED, url=escape(url)) if url else i18n.t(texts.CALENDAR_FEED_EXISTS)
    await send(update, text, views.calendar_feed_keyboard())


async def new_link(update: Update, context: Context, press: Press) -> None:
    """New link: replace the feed token; the old URL answers 404 from now on."""
    url = await deps(context).calendars.new_link(person(update).id)
    text = i18n.t(texts.CALENDAR_FEED_REPLACED, url=escape(url))
    await send(update, text, views.calendar_feed_keyboard())
