"""Owners' availability: /hours (their week, or a service's own), /away (days off)."""

from __future__ import annotations

from datetime import date
from html import escape

from telegram import Update

from bot import booking_rules, i18n, texts
from bot.errors import UserError
from bot.services.availability import DaysOff, ServiceHours
from bot.services.drafts import Draft
from bot.slots import parse_day
from bot.telegram import views
from bot.telegram.buttons import Press
from handlers.deps import Context, deps, person
from handlers.render import edit_or_send, send

FLOW = "hours"


async def hours(update: Update, context: Context) -> None:
    """/hours shows the week with a button per day; `/hours mon-fri 09:00-18:00` changes it at once."""
    me = person(update)
    availability = deps(context).availability
    text = " ".join(context.args or [])
    if text:
        days, spans = booking_rules.parse_hours(text)
        week = await availability.set_hours(me, days, spans)
    else:
        week = await availability.week(me)
    await send(update, i18n.t(texts.HOURS_WEEK, week=booking_rules.week_lines(week)), views.hours_keyboard(0))


async def pick_day(update: Update, context: Context, press: Press) -> None:
    """A weekday button: ask for that day's hours (service 0: the owner's own week)."""
    me = person(update)
    weekday, service_id = press.int_arg(0), press.int_arg(1)
    if weekday is None or not 0 <= weekday < 7 or service_id is None:
        raise UserError(texts.STALE_BUTTON)
    if service_id:
        await deps(context).availability.service_hours(me.id, service_id)
    draft = await deps(context).drafts.put(me.id, FLOW, "day", weekday=weekday, service_id=service_id)
    day = i18n.weekday(weekday)
    await send(update, i18n.t(texts.HOURS_ASK_DAY, day=day), views.day_off_keyboard(draft.nonce, day))


async def day_off(update: Update, context: Context, press: Press) -> None:
    """The Off button under the question for one day's hours."""
    draft = await deps(context).drafts.get(person(update).id)
    if draft is None or draft.flow != FLOW or draft.nonce != press.arg(0):
        raise UserError(texts.STALE_BUTTON)
    await _set_day(update, context, draft, ())


async def day_typed(update: Update, context: Context, draft: Draft, text: str) -> None:
    """Typed hours for the day asked about."""
    await _set_day(update, context, draft, booking_rules.parse_spans(text.split()))


async def _set_day(
    update: Update, context: Context, draft: Draft, spans: tuple[tuple[int, int], ...]
) -> None:
    me = person(update)
    weekday, service_id = int(draft.data.get("weekday", -1)), int(draft.data.get("service_id", 0))
    if not 0 <= weekday < 7:
        raise UserError(texts.STALE_BUTTON)
    wired = deps(context)
    if service_id:
        shown = await wired.availability.set_service_hours(me.id, service_id, [weekday], spans)
        await wired.drafts.drop(me.id)
        await edit_or_send(update, *service_week(shown))
        return
    week = await wired.availability.set_hours(me, [weekday], spans)
    await wired.drafts.drop(me.id)
    await edit_or_send(
        update, i18n.t(texts.HOURS_WEEK, week=booking_rules.week_lines(week)), views.hours_keyboard(0)
    )


def service_week(shown: ServiceHours) -> views.View:
    text = i18n.t(
        texts.HOURS_SERVICE_WEEK,
        name=escape(shown.name),
        timezone=escape(shown.timezone),
        week=booking_rules.week_lines(shown.week),
        source=i18n.t(texts.HOURS_SERVICE_OWN if shown.own else texts.HOURS_SERVICE_SHARED),
    )
    return text, views.hours_keyboard(shown.service_id, own=shown.own)


async def shared_hours(update: Update, context: Context, press: Press) -> None:
    """Use my weekly hours: the service drops its own."""
    shown = await deps(context).availability.set_service_hours(person(update).id, press.int_arg(0), [], None)
    await edit_or_send(update, *service_week(shown))


async def away(update: Update, context: Context) -> None:
    """/away lists the coming days off; `/away 2026-12-24..2027-01-02` adds some."""
    me = person(update)
    availability = deps(context).availability
    text = " ".join(context.args or [])
    listed = await availability.add_days_off(me, text) if text else await availability.days_off(me.id)
    await send(update, *days_off_view(listed))


async def remove_days(update: Update, context: Context, press: Press) -> None:
    """A Remove button of the /away list."""
    first, last = parse_day(press.arg(0)), parse_day(press.arg(1))
    listed = await deps(context).availability.remove_days_off(person(update).id, first, last)
    await edit_or_send(update, *days_off_view(listed))


def range_label(first: date, last: date) -> str:
    if first == last:
        return views.day_label(first)
    return i18n.t(texts.DAYS_RANGE, first=views.day_label(first), last=views.day_label(last))


def days_off_view(listed: DaysOff) -> views.View:
    if not listed.ranges:
        return i18n.t(texts.AWAY_NONE), None
    lines = "\n".join(range_label(first, last) for first, last in listed.ranges[: views.DAYS_OFF_SHOWN])
    text = i18n.t(texts.AWAY_LIST, days=lines)
    if listed.active_orders:
        text += "\n\n" + i18n.t(texts.AWAY_ORDERS, count=listed.active_orders)
    labels = [range_label(first, last) for first, last in listed.ranges]
    return text, views.days_off_keyboard(listed.ranges, labels)
