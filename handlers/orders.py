"""Orders after placement: /orders, and the actions on order cards (each confirmed first)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from telegram import InlineKeyboardMarkup, Update

from bot import i18n, texts
from bot.domain import Order, OrderAction
from bot.errors import UserError
from bot.services.drafts import Draft
from bot.services.orders import ORDER_NAME_MAX, PAGE_SIZE
from bot.services.services import DURATION_MAX, DURATION_MIN, valid_duration, valid_name
from bot.slots import parse_day, parse_local
from bot.telegram import views
from bot.telegram.buttons import Press, Verb, data
from handlers.deps import Context, deps, person
from handlers.render import edit_or_send, send

Value = str | int | datetime | None
RENAME = "rename"
DURATION = "duration"


async def list_orders(update: Update, context: Context) -> None:
    """/orders: the user's orders, as customer and as owner."""
    await show_page(update, context, 0, None)


async def show_page(update: Update, context: Context, offset: int, service_id: int | None) -> None:
    me = person(update)
    if service_id is not None:
        await deps(context).services.owned(me.id, service_id)
    orders, total = await deps(context).orders.page(me.id, offset, service_id)
    if not orders:
        await send(update, i18n.t(texts.NO_ORDERS))
        return
    header = i18n.t(texts.ORDERS_HEADER, first=offset + 1, last=offset + len(orders), total=total)
    await send(update, header)
    for order, role in orders:
        card = await deps(context).orders.card(order.id, role)
        if card is not None:
            await send(update, *views.card_view(card))
    if offset + PAGE_SIZE < total:
        more = data(Verb.ORDERS_PAGE, offset + PAGE_SIZE, service_id or 0)
        keyboard = InlineKeyboardMarkup([[views.button(texts.BUTTON_MORE_ORDERS, callback_data=more)]])
        await send(update, i18n.t(texts.MORE_ORDERS, count=total - offset - PAGE_SIZE), keyboard)


async def next_page(update: Update, context: Context, press: Press) -> None:
    """The More orders button (service 0: all the user's orders)."""
    offset, service_id = press.int_arg(0), press.int_arg(1)
    if offset is None or service_id is None:
        raise UserError(texts.STALE_BUTTON)
    await show_page(update, context, offset, service_id or None)


async def service_orders(update: Update, context: Context, press: Press) -> None:
    """The Orders button on a service card."""
    service_id = press.int_arg(0)
    if service_id is None:
        raise UserError(texts.STALE_BUTTON)
    await show_page(update, context, 0, service_id)


async def begin(update: Update, context: Context, press: Press) -> None:
    """An action button on an order card: ask for details or for confirmation in a new message."""
    verb = press.action(1)
    if verb is None:
        raise UserError(texts.STALE_BUTTON)
    orders = deps(context).orders
    order, role = await orders.active_order_for(person(update).id, press.int_arg(0), verb)
    if verb == OrderAction.RESCHEDULE:
        await _reschedule_days(update, context, order, role, edit=False)
    elif verb == OrderAction.RENAME:
        await deps(context).drafts.put(person(update).id, RENAME, "name", order_id=order.id)
        await send(update, i18n.t(texts.ASK_NEW_NAME, id=order.id, max=ORDER_NAME_MAX))
    elif verb == OrderAction.DURATION:
        await deps(context).drafts.put(person(update).id, DURATION, "minutes", order_id=order.id)
        text = i18n.t(texts.ASK_NEW_DURATION, id=order.id, min=DURATION_MIN, max=DURATION_MAX)
        await send(update, text, views.duration_keyboard(Verb.DURATION_PICKED, order.id))
    elif verb in (OrderAction.CONFIRM, OrderAction.DONE):  # act at once, on the version the card showed
        await _apply(update, context, order.id, verb, press.int_arg(2), None, edit=False)
    elif verb in texts.ACTION_ASK:
        await send(update, i18n.t(texts.ACTION_ASK[verb], id=order.id), views.confirm_keyboard(order, verb))
    else:
        raise UserError(texts.STALE_BUTTON)


async def retry(update: Update, context: Context, press: Press) -> str | None:
    """The Retry button: run the order's given-up jobs again."""
    await deps(context).recovery.retry(person(update).id, press.int_arg(0))
    return i18n.t(texts.RETRYING)


async def _reschedule_days(update: Update, context: Context, order: Order, role: str, *, edit: bool) -> None:
    service = await deps(context).services.get(order.service_id)
    if service is None:
        raise UserError(texts.STALE_BUTTON)
    days = await deps(context).ordering.free_days(
        service, exclude_order=order.id, by_owner=role == "owner", duration_min=order.duration_min
    )
    text = i18n.t(texts.PICK_NEW_DATE, id=order.id, timezone=escape(order.timezone))
    keyboard = views.days_keyboard(days, Verb.RESCHEDULE_DAYS, order.id)
    await (edit_or_send(update, text, keyboard) if edit else send(update, text, keyboard))


async def reschedule_day(update: Update, context: Context, press: Press) -> None:
    """Free times of the chosen day for a reschedule."""
    order, role = await deps(context).orders.active_order_for(
        person(update).id, press.int_arg(0), OrderAction.RESCHEDULE
    )
    service = await deps(context).services.get(order.service_id)
    day = parse_day(press.arg(1))
    if service is None or day is None:
        raise UserError(texts.STALE_BUTTON)
    starts = await deps(context).ordering.free_times(
        service, day, order.duration_min, exclude_order=order.id, by_owner=role == "owner"
    )
    starts = [start for start in starts if start != order.start_at]
    text = i18n.t(texts.PICK_NEW_TIME, id=order.id, day=views.day_label(day), timezone=escape(order.timezone))
    keyboard = views.times_keyboard(
        starts,
        order.timezone,
        Verb.RESCHEDULE_TIME,
        order.id,
        data(Verb.ORDER_ACTION, order.id, OrderAction.RESCHEDULE),
        page_verb=Verb.RESCHEDULE_DAYS,
        page=press.int_arg(2) or 0,
    )
    await edit_or_send(update, text, keyboard)


async def reschedule_time(update: Update, context: Context, press: Press) -> None:
    """Ask to confirm the new start."""
    order, role = await deps(context).orders.active_order_for(
        person(update).id, press.int_arg(0), OrderAction.RESCHEDULE
    )
    start = parse_local(press.arg(1), order.timezone)
    if start is None:
        raise UserError(texts.SLOT_NOT_OFFERED)
    await deps(context).ordering.check_start(order, start, by_owner=role == "owner")
    text = i18n.t(
        texts.ACTION_ASK[OrderAction.RESCHEDULE],
        id=order.id,
        old=views.when(order.start_at, order.timezone),
        new=views.when(start, order.timezone),
    )
    await edit_or_send(update, text, views.confirm_keyboard(order, OrderAction.RESCHEDULE, press.arg(1)))


async def duration_picked(update: Update, context: Context, press: Press) -> None:
    """A duration button for an order."""
    await _ask_duration(update, context, press.int_arg(0), press.arg(1) or "", edit=True)


async def _ask_duration(
    update: Update, context: Context, order_id: int | None, value: str, *, edit: bool
) -> None:
    order, _ = await deps(context).orders.active_order_for(person(update).id, order_id, OrderAction.DURATION)
    minutes = valid_duration(value)
    text = i18n.t(
        texts.ACTION_ASK[OrderAction.DURATION],
        id=order.id,
        old=i18n.minutes(order.duration_min),
        new=i18n.minutes(minutes),
    )
    keyboard = views.confirm_keyboard(order, OrderAction.DURATION, minutes)
    await (edit_or_send(update, text, keyboard) if edit else send(update, text, keyboard))


async def draft_text(update: Update, context: Context, draft: Draft, text: str) -> None:
    """Typed new name or duration for an order."""
    order_id = int(draft.data.get("order_id", 0))
    if draft.flow == DURATION:
        await _ask_duration(update, context, order_id, text, edit=False)
        return
    order, _ = await deps(context).orders.active_order_for(person(update).id, order_id, OrderAction.RENAME)
    name = valid_name(text, ORDER_NAME_MAX)
    await deps(context).drafts.put(person(update).id, RENAME, "confirm", order_id=order.id, name=name)
    ask = i18n.t(texts.ACTION_ASK[OrderAction.RENAME], id=order.id, old=escape(order.name), new=escape(name))
    await send(update, ask, views.confirm_keyboard(order, OrderAction.RENAME))


async def confirmed(update: Update, context: Context, press: Press) -> None:
    """Confirm pressed on an action question."""
    verb = press.action(1)
    if verb is None:
        raise UserError(texts.STALE_BUTTON)
    order_id = press.int_arg(0)
    value: Value = press.arg(3)
    if verb == OrderAction.RESCHEDULE:
        order, _ = await deps(context).orders.order_for(person(update).id, order_id, OrderAction.RESCHEDULE)
        value = parse_local(press.arg(3), order.timezone)
    elif verb == OrderAction.RENAME:
        draft = await deps(context).drafts.get(person(update).id)
        if draft is None or draft.flow != RENAME or draft.data.get("order_id") != order_id:
            raise UserError(texts.STALE_BUTTON)
        value = str(draft.data.get("name", ""))
    await _apply(update, context, order_id, verb, press.int_arg(2), value, edit=True)


async def _apply(
    update: Update,
    context: Context,
    order_id: int | None,
    verb: OrderAction,
    version: int | None,
    value: Value,
    *,
    edit: bool,
) -> None:
    """Apply the action; the pressed card is redrawn, a question becomes a one-line result."""
    wired = deps(context)
    me = person(update)
    applied = await wired.orders.apply(me.id, order_id, verb, version, value)
    if verb in (OrderAction.RENAME, OrderAction.DURATION):
        await wired.drafts.drop(me.id)
    if not edit:
        text, keyboard = await _card(context, applied.order.id, applied.role)
        await edit_or_send(update, text, keyboard)
        return
    order = applied.order
    what = i18n.t(
        texts.ACTION_RESULTS[verb],
        start=views.when(order.start_at, order.timezone),
        name=escape(order.name),
        minutes=i18n.minutes(order.duration_min),
    )
    text = i18n.t(texts.ACTION_DONE, id=order.id, what=what)
    if applied.message is not None:
        text += "\n" + i18n.t(applied.message)
    await edit_or_send(update, text, None)


async def _card(context: Context, order_id: int, role: str) -> tuple[str, InlineKeyboardMarkup | None]:
    card = await deps(context).orders.card(order_id, role)
    if card is None:
        raise UserError(texts.STALE_BUTTON)
    return views.card_view(card)


async def keep(update: Update, context: Context, press: Press) -> None:
    """Back on an action question: nothing changes (and only that order's pending edit is dropped)."""
    drafts = deps(context).drafts
    draft = await drafts.get(person(update).id)
    if draft and draft.flow in (RENAME, DURATION) and draft.data.get("order_id") == press.int_arg(0):
        await drafts.drop(person(update).id)
    await edit_or_send(update, i18n.t(texts.KEPT_AS_IS, id=press.int_arg(0) or "?"), None)
