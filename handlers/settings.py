"""A service's Settings card and its buttons (only the service's owner gets past the service)."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot import booking_rules, i18n, texts
from bot.domain import Service
from bot.errors import UserError
from bot.services.drafts import Draft
from bot.services.service_settings import CHOICES, COLUMNS
from bot.services.services import DURATION_MAX, DURATION_MIN
from bot.telegram import views
from bot.telegram.buttons import Press, Verb
from handlers.availability import service_week
from handlers.deps import Context, deps, person
from handlers.render import edit_or_send, send

FLOW = "setting"


def _card(service: Service) -> views.View:
    return views.settings_card(service, booking_rules.format_reminders(list(service.reminder_minutes)))


async def show(update: Update, context: Context, press: Press) -> None:
    """Settings on a service card (a new message), or « Settings from a setting (edited in place)."""
    me = person(update)
    service = await deps(context).settings.get(me.id, press.int_arg(0))
    draft = await deps(context).drafts.get(me.id)
    if draft is not None and draft.flow == FLOW:
        await deps(context).drafts.drop(me.id)
    await (edit_or_send(update, *_card(service)) if press.arg(1) == "1" else send(update, *_card(service)))


async def pick(update: Update, context: Context, press: Press) -> None:
    """One setting's button: its choices (and, for some, an invitation to type a value)."""
    me = person(update)
    wired = deps(context)
    key = press.arg(1) or ""
    service = await wired.settings.get(me.id, press.int_arg(0))
    if key == "hr":
        await edit_or_send(update, *service_week(await wired.availability.service_hours(me.id, service.id)))
        return
    if key == "du":
        await wired.drafts.put(me.id, FLOW, key, service_id=service.id)
        text = i18n.t(texts.SETTING_ASK[key], name=escape(service.name), min=DURATION_MIN, max=DURATION_MAX)
        await edit_or_send(update, text, views.duration_keyboard(Verb.SETTING_CHOOSE, service.id, "du"))
        return
    if key == "re":
        await wired.drafts.put(me.id, FLOW, key, service_id=service.id)
        offsets = booking_rules.format_reminders(list(service.reminder_minutes))
        text = i18n.t(texts.SETTING_ASK[key], name=escape(service.name), current=offsets)
        await edit_or_send(update, text, views.reminder_choices(service))
        return
    if key not in CHOICES:
        raise UserError(texts.STALE_BUTTON)
    current = int(getattr(service, COLUMNS[key]))
    keyboard = views.setting_choices(service, key, CHOICES[key], current)
    await edit_or_send(update, i18n.t(texts.SETTING_ASK[key], name=escape(service.name)), keyboard)


async def choose(update: Update, context: Context, press: Press) -> str:
    """A value button of a setting; returns the toast."""
    me = person(update)
    wired = deps(context)
    service_id, key, value = press.int_arg(0), press.arg(1) or "", press.arg(2) or ""
    if key == "du":
        service = await wired.settings.set_duration(me.id, service_id, value)
    elif key == "re":
        service = await wired.settings.set_reminders(me.id, service_id, value)
    else:
        service = await wired.settings.choose(me.id, service_id, key, value)
    await wired.drafts.drop(me.id)
    await edit_or_send(update, *_card(service))
    return i18n.t(texts.SETTING_SAVED)


async def typed(update: Update, context: Context, draft: Draft, text: str) -> None:
    """A typed duration or reminder times."""
    me = person(update)
    wired = deps(context)
    service_id = int(draft.data.get("service_id", 0))
    if draft.step == "du":
        service = await wired.settings.set_duration(me.id, service_id, text)
    elif draft.step == "re":
        service = await wired.settings.set_reminders(me.id, service_id, text.strip().lower())
    else:
        raise UserError(texts.NOT_UNDERSTOOD)
    await wired.drafts.drop(me.id)
    await send(update, i18n.t(texts.SETTING_SAVED))
    await send(update, *_card(service))
