"""Owners: creating services, their cards, the Zoom switch and the Zoom connection."""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardMarkup, Update

from bot import i18n, texts
from bot.domain import ConnectionStatus, Service
from bot.errors import UserError
from bot.services.drafts import Draft
from bot.services.services import DURATION_MAX, DURATION_MIN, SERVICE_NAME_MAX, valid_name
from bot.telegram import menus, views
from bot.telegram.buttons import Press, Verb, data
from handlers.deps import Context, deps, person
from handlers.render import edit_or_send, plain, send

log = logging.getLogger(__name__)
FLOW = "newservice"
SERVICES_PAGE = 10  # service cards per message batch of /services


async def new_service(update: Update, context: Context) -> None:
    """Create a service: `/newservice` asks step by step, `/newservice 60 Name` does it at once."""
    me = person(update)
    wired = deps(context)
    args = context.args or []
    if args:
        if len(args) < 2 or not (args[0].isascii() and args[0].isdecimal()):
            raise UserError(texts.NEW_SERVICE_USAGE)
        service = await wired.services.create(me, " ".join(args[1:]), args[0], update.update_id)
        await _created(update, context, service)
        return
    await wired.drafts.put(me.id, FLOW, "name")
    await send(update, i18n.t(texts.NEW_SERVICE_ASK_NAME, max=SERVICE_NAME_MAX))


async def new_service_text(update: Update, context: Context, draft: Draft, text: str) -> None:
    """The name, then the duration, typed during /newservice."""
    wired = deps(context)
    me = person(update)
    if draft.step == "name":
        name = valid_name(text, SERVICE_NAME_MAX)
        new = await wired.drafts.put(me.id, FLOW, "duration", name=name)
        await _ask_duration(update, new)
        return
    service = await wired.services.create(me, str(draft.data.get("name", "")), text, update.update_id)
    await wired.drafts.drop(me.id)
    await _created(update, context, service)


async def _ask_duration(update: Update, draft: Draft) -> None:
    text = i18n.t(
        texts.NEW_SERVICE_ASK_DURATION,
        name=escape(str(draft.data["name"])),
        min=DURATION_MIN,
        max=DURATION_MAX,
    )
    await send(update, text, views.duration_keyboard(Verb.NEW_SERVICE_DURATION, draft.nonce))


async def duration_picked(update: Update, context: Context, press: Press) -> None:
    """A duration button of /newservice."""
    wired = deps(context)
    me = person(update)
    draft = await wired.drafts.get(me.id)
    if draft is None or draft.flow != FLOW or draft.step != "duration" or draft.nonce != press.arg(0):
        raise UserError(texts.STALE_BUTTON)
    name = str(draft.data.get("name", ""))
    service = await wired.services.create(me, name, press.arg(1) or "", update.update_id)
    await wired.drafts.drop(me.id)
    await edit_or_send(update, i18n.t(texts.SERVICE_CREATED), None)
    await _created(update, context, service, intro=False)


async def _created(update: Update, context: Context, service: Service, intro: bool = True) -> None:
    if intro:
        await send(update, i18n.t(texts.SERVICE_CREATED))
    text, keyboard = views.service_card(service, context.bot.username)
    await send(update, text, keyboard)
    await _owner_menu(context, service.owner_id)


async def _owner_menu(context: Context, owner_id: int) -> None:
    wired = deps(context)
    if not await wired.persons.mark_owner_menu(owner_id):
        return
    chosen = await wired.persons.chosen_language(owner_id)
    await menus.set_for_chat(context.bot, owner_id, wired.owner_commands, chosen)


async def list_services(update: Update, context: Context) -> None:
    """The owner's service cards, a page at a time."""
    await _services_page(update, context, 0)


async def more_services(update: Update, context: Context, press: Press) -> None:
    """The More services button under a page of service cards."""
    offset = press.int_arg(0)
    if offset is None:
        raise UserError(texts.STALE_BUTTON)
    await _services_page(update, context, offset)


async def _services_page(update: Update, context: Context, offset: int) -> None:
    services, total = await deps(context).services.page(person(update).id, offset, SERVICES_PAGE)
    if not services:
        await send(update, i18n.t(texts.NO_SERVICES))
        return
    if total > SERVICES_PAGE:
        last = offset + len(services)
        await send(update, i18n.t(texts.SERVICES_HEADER, first=offset + 1, last=last, total=total))
    for service in services:
        text, keyboard = views.service_card(service, context.bot.username)
        await send(update, text, keyboard)
    left = total - offset - len(services)
    if left > 0:
        more = data(Verb.MORE_SERVICES, offset + len(services))
        keyboard = InlineKeyboardMarkup([[views.button(texts.SERVICES_MORE_BUTTON, callback_data=more)]])
        await send(update, i18n.t(texts.MORE_ORDERS, count=left), keyboard)


async def toggle_zoom(update: Update, context: Context, press: Press) -> str | None:
    """The Zoom switch on a service card; returns the toast to show."""
    outcome = await deps(context).services.toggle_zoom(
        person(update).id, press.int_arg(0), press.arg(1) == "1"
    )
    if outcome.connect_url:
        text = i18n.t(texts.ZOOM_NEEDS_CONNECT, name=escape(outcome.service.name))
        await send(update, text, _connect_keyboard(outcome.connect_url))
        return None
    text, keyboard = views.service_card(outcome.service, context.bot.username)
    await edit_or_send(update, text, keyboard)
    template = texts.ZOOM_NOW_ON if outcome.service.zoom_enabled else texts.ZOOM_NOW_OFF
    return plain(i18n.t(template, name=escape(outcome.service.name)))


def _connect_keyboard(url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[views.button(texts.BUTTON_CONNECT_ZOOM, url=url)]])


async def zoom_status(update: Update, context: Context) -> None:
    """/zoom: connected as whom, with connect or disconnect buttons."""
    connection = await deps(context).connections.connection(person(update).id)
    if connection is None:
        keyboard = InlineKeyboardMarkup(
            [[views.button(texts.BUTTON_CONNECT_ZOOM, callback_data=data(Verb.CONNECT_ZOOM))]]
        )
        await send(update, i18n.t(texts.ZOOM_STATUS_NONE), keyboard)
        return
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        text = i18n.t(texts.ZOOM_STATUS_RECONNECT, email=escape(connection.email))
        first = views.button(texts.ZOOM_RECONNECT_BUTTON, callback_data=data(Verb.CONNECT_ZOOM))
    else:
        text = i18n.t(texts.ZOOM_STATUS_CONNECTED, email=escape(connection.email))
        first = views.button(texts.BUTTON_RECONNECT, callback_data=data(Verb.CONNECT_ZOOM))
    keyboard = InlineKeyboardMarkup(
        [[first, views.button(texts.BUTTON_DISCONNECT, callback_data=data(Verb.DISCONNECT_ASK))]]
    )
    await send(update, text, keyboard)


async def connect_link(update: Update, context: Context, press: Press) -> None:
    """A fresh login link."""
    url = await deps(context).connections.connect_url(person(update).id)
    await edit_or_send(update, i18n.t(texts.ZOOM_CONNECT_LINK), _connect_keyboard(url))


async def disconnect_ask(update: Update, context: Context, press: Press) -> None:
    """Confirm before disconnecting."""
    connection = await deps(context).connections.connection(person(update).id)
    if connection is None:
        await edit_or_send(update, i18n.t(texts.ZOOM_STATUS_NONE), None)
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                views.button(texts.BUTTON_DISCONNECT, callback_data=data(Verb.DISCONNECT)),
                views.button(texts.BUTTON_BACK, callback_data=data(Verb.KEEP_CONNECTION)),
            ]
        ]
    )
    await edit_or_send(update, i18n.t(texts.ZOOM_DISCONNECT_ASK, email=escape(connection.email)), keyboard)


async def disconnect(update: Update, context: Context, press: Press) -> None:
    """Disconnect Zoom (the confirmation message is sent by the service)."""
    done = await deps(context).connections.disconnect(person(update).id)
    await edit_or_send(update, i18n.t(texts.ZOOM_DISCONNECTED if done else texts.ZOOM_STATUS_NONE), None)


async def keep_connection(update: Update, context: Context, press: Press) -> None:
    """Back from the disconnect question."""
    await edit_or_send(update, i18n.t(texts.KEPT_ZOOM), None)
