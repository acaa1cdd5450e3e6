"""Book for a client: the owner picks a day, a time and the client's name; the client opens the invite."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update

from bot import i18n, slots, texts
from bot.errors import UserError
from bot.services.client_orders import CLIENT_NAME_MAX
from bot.services.drafts import Draft
from bot.services.orders import CardShown
from bot.slots import parse_day
from bot.telegram import views
from bot.telegram.buttons import Press, Verb, data
from handlers.deps import Context, deps, person
from handlers.render import edit_or_send, send


async def show_days(update: Update, context: Context, press: Press) -> None:
    """Book for a client on a service card (a new message), or « Other days (edited in place)."""
    wired = deps(context)
    service = await wired.clients.service(person(update).id, press.int_arg(0))
    days = await wired.ordering.free_days(service, by_owner=True)
    if not days:
        text, keyboard = i18n.t(texts.CLIENT_NO_DAYS, count=slots.MAX_DAYS_AHEAD), None
    else:
        text = i18n.t(
            texts.CLIENT_PICK_DATE,
            name=escape(service.name),
            duration=i18n.minutes(service.duration_min),
            timezone=escape(service.timezone),
        )
        keyboard = views.days_keyboard(days, Verb.CLIENT_TIMES, service.id)
    await (edit_or_send(update, text, keyboard) if press.arg(1) == "1" else send(update, text, keyboard))


async def show_times(update: Update, context: Context, press: Press) -> None:
    """Free times of the chosen day inside working hours."""
    wired = deps(context)
    service = await wired.clients.service(person(update).id, press.int_arg(0))
    day = parse_day(press.arg(1))
    if day is None:
        raise UserError(texts.STALE_BUTTON)
    starts = await wired.ordering.free_times(service, day, by_owner=True)
    if not starts:
        raise UserError(texts.NO_TIMES, day=views.day_label(day))
    text = i18n.t(
        texts.CLIENT_PICK_TIME,
        name=escape(service.name),
        day=views.day_label(day),
        timezone=escape(service.timezone),
    )
    keyboard = views.times_keyboard(
        starts,
        service.timezone,
        Verb.CLIENT_TIME,
        service.id,
        data(Verb.CLIENT_DAYS, service.id, 1),
        page_verb=Verb.CLIENT_TIMES,
        page=press.int_arg(2) or 0,
    )
    await edit_or_send(update, text, keyboard)


async def ask_name(update: Update, context: Context, press: Press) -> None:
    """Hold the chosen time and ask for the client's name."""
    service = await deps(context).clients.pick_time(person(update), press.int_arg(0), press.arg(1))
    text = i18n.t(texts.CLIENT_ASK_NAME, max=CLIENT_NAME_MAX, service=escape(service.name))
    await edit_or_send(update, text, None)


async def name_typed(update: Update, context: Context, draft: Draft, text: str) -> None:
    """The client's name: show the summary with Confirm and Cancel."""
    summary = await deps(context).clients.name(person(update), draft, text)
    keyboard = InlineKeyboardMarkup(
        [
            [
                views.button(texts.BUTTON_CONFIRM, callback_data=data(Verb.CLIENT_CONFIRM, summary.nonce)),
                views.button(texts.BUTTON_CANCEL, callback_data=data(Verb.ORDER_ABORT, summary.nonce)),
            ]
        ]
    )
    await send(update, summary.text, keyboard)


async def confirm(update: Update, context: Context, press: Press) -> None:
    """Place the order; the summary turns into the owner's order card with the invite link."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    wired = deps(context)
    order = await wired.clients.confirm(person(update), press.arg(0), query.message.message_id)
    card = await wired.orders.card(order.id, "owner")
    chat_id = query.message.chat.id
    if card is None:
        await wired.orders.refresh_cards_now(order.id, chat_id=chat_id)  # left to the card's refresh
        return
    view = views.card_view(card)
    await edit_or_send(update, *view)
    shown = CardShown(chat_id, query.message.message_id, views.fingerprint(*view))
    await wired.orders.refresh_cards_now(order.id, shown)


async def claim(update: Update, context: Context, code: str) -> None:
    """`/start o_<code>`: the client takes the order; the card follows as its own message."""
    await deps(context).clients.claim(person(update), code)
