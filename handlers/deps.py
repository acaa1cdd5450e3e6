"""What handlers may call: the services, put into `bot_data` by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.availability import Availability
from bot.services.calendars import Calendars
from bot.services.client_orders import ClientOrders
from bot.services.drafts import Drafts
from bot.services.ordering import Ordering
from bot.services.orders import Orders
from bot.services.persons import Person, Persons
from bot.services.recovery import Recovery
from bot.services.service_settings import ServiceSettings
from bot.services.services import Services
from bot.services.zoom_connections import ZoomConnections

KEY = "deps"
Context = ContextTypes.DEFAULT_TYPE


@dataclass(frozen=True)
class Deps:
    persons: Persons
    services: Services
    ordering: Ordering
    availability: Availability
    settings: ServiceSettings
    clients: ClientOrders
    orders: Orders
    drafts: Drafts
    connections: ZoomConnections
    owner_commands: list[tuple[str, str]]
    customer_commands: list[tuple[str, str]]
    calendars: Calendars
    recovery: Recovery


def deps(context: Context) -> Deps:
    value = context.application.bot_data[KEY]
    if not isinstance(value, Deps):
        raise TypeError("bot_data has no Deps")
    return value


def person(update: Update) -> Person:
    user = update.effective_user
    if user is None:
        raise ValueError("update without a user")
    first_name = "".join(ch for ch in user.first_name or "" if ch.isprintable())[:256]
    username = "".join(ch for ch in user.username or "" if ch.isprintable())[:64] or None
    code = "".join(ch for ch in user.language_code or "" if ch.isprintable())[:16] or None
    return Person(id=user.id, first_name=first_name, username=username, language_code=code)
