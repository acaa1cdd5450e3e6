"""The customer's ordering steps: service card, days, times, order name, summary, confirmation."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot import i18n, texts
from bot.errors import SlotTaken, UserError
from bot.services.drafts import Draft
from bot.services.ordering import Summary
from bot.services.orders import CardShown
from bot.slots import parse_day
from bot.telegram import views
from bot.telegram.buttons import Press, Verb, data
from bot.telegram.keyboards import Keyboard
from bot.telegram.limits import chat_wait
from handlers.deps import Context, deps, person
from handlers.render import edit_or_send, send


async def open_service(update: Update, context: Context, code: str) -> None:
    """Show the service a deep link points to, with the Order button."""
    service = await deps(context).ordering.open(person(update), code)
    text, keyboard = views.service_offer(service)
    await edit_or_send(update, text, keyboard)


async def show_days(update: Update, context: Context, press: Press) -> None:
    """The bookable days of a service."""
    service, days = await deps(context).ordering.open_days(person(update), press.arg(0))
    if not days:
        await edit_or_send(update, i18n.t(texts.NO_DAYS, count=service.horizon_days), None)
        return
    text = i18n.t(
        texts.PICK_DATE,
        name=escape(service.name),
        duration=i18n.minutes(service.duration_min),
        timezone=escape(service.timezone),
    )
    await edit_or_send(update, text, views.days_keyboard(days, Verb.ORDER_TIMES, service.code))


async def show_times(update: Update, context: Context, press: Press) -> None:
    """The free start times of one day."""
    day = parse_day(press.arg(1))
    service, starts = await deps(context).ordering.times_of(press.arg(0), day)  # refuses no day as stale
    if day is None:
        raise UserError(texts.STALE_BUTTON)
    if not starts:
        raise UserError(texts.NO_TIMES, day=views.day_label(day))
    text = i18n.t(
        texts.PICK_TIME,
        name=escape(service.name),
        day=views.day_label(day),
        timezone=escape(service.timezone),
    )
    keyboard = views.times_keyboard(
        starts,
        service.timezone,
        Verb.ORDER_TIME,
        service.code,
        data(Verb.ORDER_DAYS, service.code),
        page_verb=Verb.ORDER_TIMES,
        page=press.int_arg(2) or 0,
    )
    await edit_or_send(update, text, keyboard)


async def ask_name(update: Update, context: Context, press: Press) -> None:
    """Hold the chosen time and ask for the order name."""
    me = person(update)
    ordering = deps(context).ordering
    try:
        _, draft = await ordering.pick_time(me, press.arg(0), press.arg(1))
    except UserError:
        await show_days(update, context, Press(Verb.ORDER_DAYS, (press.arg(0) or "",)))
        raise
    keyboard = Keyboard(
        [[views.button(texts.BUTTON_SKIP, callback_data=data(Verb.ORDER_SKIP_NAME, draft.nonce))]]
    )
    text = i18n.t(texts.ASK_ORDER_NAME, max=200, default=escape(str(draft.data["default"])))
    await edit_or_send(update, text, keyboard)


async def name_typed(update: Update, context: Context, draft: Draft, text: str) -> None:
    """The customer typed the order name."""
    summary = await deps(context).ordering.name(person(update), draft, text)
    await _show_summary(update, context, summary, edit=False)


async def skip_name(update: Update, context: Context, press: Press) -> None:
    """Keep the default order name."""
    summary = await deps(context).ordering.keep_default_name(person(update), press.arg(0))
    await _show_summary(update, context, summary, edit=True)


async def _show_summary(update: Update, context: Context, summary: Summary, *, edit: bool) -> None:
    text = await deps(context).ordering.summary_text(summary)
    keyboard = Keyboard(
        [
            [
                views.button(texts.BUTTON_CONFIRM, callback_data=data(Verb.ORDER_CONFIRM, summary.nonce)),
                views.button(texts.BUTTON_CANCEL, callback_data=data(Verb.ORDER_ABORT, summary.nonce)),
            ]
        ]
    )
    await (edit_or_send(update, text, keyboard) if edit else send(update, text, keyboard))


async def confirm(update: Update, context: Context, press: Press) -> None:
    """Place the order and turn the summary into the order card."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    wired = deps(context)
    try:
        order = await wired.ordering.confirm(person(update), press.arg(0), query.message.message_id)
    except SlotTaken:
        await show_days(
            update, context, Press(Verb.ORDER_DAYS, (await _draft_service_code(update, context),))
        )
        raise
    chat_id = query.message.chat.id
    if chat_wait(context.bot, chat_id) > 0:
        # Telegram lets nothing more into this chat for a moment: the card's queued refresh turns the
        # summary into the card when it may, with the Join button if the meeting has come by then (one edit
        # instead of two).
        await wired.orders.refresh_cards_now(order.id, chat_id=chat_id)
        return
    text, keyboard = views.order_card(order, "customer")
    await edit_or_send(update, text, keyboard)
    shown = CardShown(chat_id, query.message.message_id, views.fingerprint(text, keyboard))
    # What changed meanwhile (the meeting came) is shown here at once, while the card's refresh stays held
    # (two writers of one card could cross); it takes over if the chat has to wait.
    again = await wired.orders.refresh_cards_now(order.id, shown, take=True)
    if again is None:
        return
    if chat_wait(context.bot, chat_id) > 0:
        await wired.orders.refresh_cards_now(order.id, chat_id=chat_id)
        return
    text, keyboard = views.card_view(again.card)
    await edit_or_send(update, text, keyboard)
    again_shown = CardShown(chat_id, shown.message_id, views.fingerprint(text, keyboard), seen=shown.content)
    await wired.orders.refresh_cards_now(order.id, again_shown)


async def _draft_service_code(update: Update, context: Context) -> str:
    draft = await deps(context).drafts.get(person(update).id)
    if draft is None:
        return ""
    service = await deps(context).services.get(int(draft.data.get("service_id", 0)))
    return service.code if service else ""


async def abort(update: Update, context: Context, press: Press) -> None:
    """Cancel on the summary: nothing is ordered."""
    me = person(update)
    draft = await deps(context).drafts.get(me.id)
    if draft is not None and draft.nonce == press.arg(0):
        await deps(context).drafts.drop(me.id)
    await edit_or_send(update, i18n.t(texts.CANCELLED), None)
