"""All registration in one visible place, and the dispatch of buttons and typed text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import i18n, texts
from bot.errors import UserError
from bot.services import client_orders, ordering
from bot.telegram.buttons import Press, Verb, parse
from handlers import availability, calendars, client, common, ordering, orders, owner, settings
from handlers.deps import Context, deps, person
from handlers.render import answer, plain, send

# A button handler may return a short text to show as a toast; it raises UserError for an alert.
ButtonHandler = Callable[[Update, Context, Press], Awaitable[str | None]]

BUTTONS: dict[Verb, ButtonHandler] = {
    Verb.TOGGLE_ZOOM: owner.toggle_zoom,
    Verb.MORE_SERVICES: owner.more_services,
    Verb.NEW_SERVICE_DURATION: owner.duration_picked,
    Verb.CONNECT_ZOOM: owner.connect_link,
    Verb.DISCONNECT_ASK: owner.disconnect_ask,
    Verb.DISCONNECT: owner.disconnect,
    Verb.KEEP_CONNECTION: owner.keep_connection,
    Verb.ORDER_DAYS: ordering.show_days,
    Verb.ORDER_TIMES: ordering.show_times,
    Verb.ORDER_TIME: ordering.ask_name,
    Verb.ORDER_SKIP_NAME: ordering.skip_name,
    Verb.ORDER_CONFIRM: ordering.confirm,
    Verb.ORDER_ABORT: ordering.abort,
    Verb.SERVICE_ORDERS: orders.service_orders,
    Verb.ORDERS_PAGE: orders.next_page,
    Verb.ORDER_ACTION: orders.begin,
    Verb.RETRY: orders.retry,
    Verb.RESCHEDULE_DAYS: orders.reschedule_day,
    Verb.RESCHEDULE_TIME: orders.reschedule_time,
    Verb.DURATION_PICKED: orders.duration_picked,
    Verb.ACTION_CONFIRMED: orders.confirmed,
    Verb.ACTION_KEPT: orders.keep,
    Verb.HOURS_DAY: availability.pick_day,
    Verb.DAY_OFF: availability.day_off,
    Verb.SHARED_HOURS: availability.shared_hours,
    Verb.REMOVE_DAYS_OFF: availability.remove_days,
    Verb.CLIENT_DAYS: client.show_days,
    Verb.CLIENT_TIMES: client.show_times,
    Verb.CLIENT_TIME: client.ask_name,
    Verb.CLIENT_CONFIRM: client.confirm,
    Verb.SETTINGS: settings.show,
    Verb.SETTING_PICK: settings.pick,
    Verb.SETTING_CHOOSE: settings.choose,
    Verb.LANGUAGE: common.language_chosen,
    Verb.CALENDAR_FILE: calendars.order_file,
    Verb.NEW_FEED_LINK: calendars.new_link,
}

# Command and the text key of its description (rendered per language by bot.telegram.menus).
CUSTOMER_COMMANDS = [
    ("start", texts.COMMAND_START),
    ("orders", texts.COMMAND_ORDERS),
    ("calendar", texts.COMMAND_CALENDAR),
    ("timezone", texts.COMMAND_TIMEZONE),
    ("newservice", texts.COMMAND_NEWSERVICE),
    ("language", texts.COMMAND_LANGUAGE),
    ("help", texts.COMMAND_HELP),
    ("cancel", texts.COMMAND_CANCEL),
]
OWNER_COMMANDS = [
    ("services", texts.COMMAND_SERVICES),
    ("orders", texts.COMMAND_OWNER_ORDERS),
    ("newservice", texts.COMMAND_CREATE_SERVICE),
    ("zoom", texts.COMMAND_ZOOM),
    ("hours", texts.COMMAND_HOURS),
    ("away", texts.COMMAND_AWAY),
    ("calendar", texts.COMMAND_CALENDAR),
    ("timezone", texts.COMMAND_TIMEZONE),
    ("language", texts.COMMAND_LANGUAGE),
    ("help", texts.COMMAND_HELP),
    ("cancel", texts.COMMAND_CANCEL),
]


async def on_button(update: Update, context: Context) -> None:
    """Dispatch a button press; anything stale, forged or not allowed gets a short alert."""
    query = update.callback_query
    if query is None:
        return
    press = parse(query.data)
    handler = BUTTONS.get(press.verb) if press else None
    if handler is None or press is None:
        await answer(query, plain(i18n.t(texts.STALE_BUTTON)), show_alert=True)
        return
    try:
        toast = await handler(update, context, press)
    except UserError as exc:
        await answer(query, plain(str(exc))[:200], show_alert=True)
        return
    await answer(query, toast[:200] if toast else None)


async def on_text(update: Update, context: Context) -> None:
    """Typed text: the answer to whatever step the user's draft is at."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    draft = await deps(context).drafts.get(person(update).id)
    try:
        if draft is None:
            await send(update, i18n.t(texts.NOT_UNDERSTOOD))
        elif draft.flow == owner.FLOW:
            await owner.new_service_text(update, context, draft, message.text)
        elif draft.flow == ordering.FLOW and draft.step == "name":
            await ordering.name_typed(update, context, draft, message.text)
        elif draft.flow == client_orders.FLOW and draft.step == "name":
            await client.name_typed(update, context, draft, message.text)
        elif draft.flow == settings.FLOW:
            await settings.typed(update, context, draft, message.text)
        elif draft.flow == availability.FLOW:
            await availability.day_typed(update, context, draft, message.text)
        elif draft.flow in (orders.RENAME, orders.DURATION) and draft.step in ("name", "minutes"):
            await orders.draft_text(update, context, draft, message.text)
        else:
            await send(update, i18n.t(texts.NOT_UNDERSTOOD))
    except UserError as exc:
        await send(update, str(exc))


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    # First for every update: answer in the language of whoever sent it.
    application.add_handler(TypeHandler(Update, common.speak_their_language), group=-1)
    commands = {
        "start": common.start,
        "help": common.help_command,
        "cancel": common.cancel,
        "timezone": common.timezone,
        "newservice": owner.new_service,
        "services": owner.list_services,
        "zoom": owner.zoom_status,
        "orders": orders.list_orders,
        "hours": availability.hours,
        "away": availability.away,
        "language": common.language,
        "calendar": calendars.feed,
    }
    application.add_handler(MessageHandler(~private & filters.UpdateType.MESSAGES, common.group_message))
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=private & filters.UpdateType.MESSAGE))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, common.edited))
    application.add_handler(MessageHandler(private & filters.COMMAND, common.unknown_command))
    application.add_handler(MessageHandler(private & filters.TEXT, on_text))
    application.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE, common.not_text))
    application.add_error_handler(common.on_error)
