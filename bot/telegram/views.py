"""Rendering: texts and inline keyboards for services and orders. Every user value is HTML-escaped.

Everything is rendered in the current language (`bot.i18n.speaking`): the reader's. Keyboards are made as
`Keyboard`s, which render and Delivery send as they are (made as PTB's markup, each was made again as one).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import i18n, slots, texts
from bot.domain import MeetingState, Order, OrderAction, OrderStatus, Service
from bot.services.orders import OrderCard
from bot.telegram.buttons import Verb, data
from bot.telegram.keyboards import Keyboard

DURATION_CHOICES = (15, 30, 45, 60, 90, 120)
TIMES_PER_PAGE = 24
View = tuple[str, InlineKeyboardMarkup | None]


class MadeButtons:
    """The inline buttons of these views, each made once while it is in use.

    Making a PTB button costs about as much as rendering a card's text (every attribute goes through
    TelegramObject's checks), and the same buttons come back: every customer's days and times of a service,
    every render of one order's card. A button is frozen once made, so one can sit in any number of
    keyboards; the least recently used are let go. (Their JSON comes from `Keyboard`.)"""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._made: OrderedDict[tuple[str, str | None, str | None], InlineKeyboardButton] = OrderedDict()
        self._lock = threading.Lock()  # bots run in threads of one process in tests

    def get(self, text: str, callback_data: str | None, url: str | None) -> InlineKeyboardButton:
        key = (text, callback_data, url)
        with self._lock:
            made = self._made.get(key)
            if made is not None:
                self._made.move_to_end(key)
                return made
        made = InlineKeyboardButton(text, callback_data=callback_data, url=url)
        with self._lock:
            self._made[key] = made
            if len(self._made) > self._size:
                self._made.popitem(last=False)
        return made


_BUTTONS = MadeButtons()


def fingerprint(text: str, keyboard: InlineKeyboardMarkup | None) -> str:
    """What a message shows (its text and buttons) in 32 characters: equal views, equal fingerprints."""
    markup = Keyboard.of(keyboard).to_dict() if keyboard is not None else None
    content = json.dumps([text, markup], sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


def when(moment: datetime, timezone: str, *, with_zone: bool = True) -> str:
    return i18n.when(moment, timezone, with_zone=with_zone)


def day_label(day: date) -> str:
    return i18n.day(day)


def button(
    label: str, *, callback_data: str | None = None, url: str | None = None, **values: object
) -> InlineKeyboardButton:
    """A button whose label is a text key, rendered in the current language."""
    return _BUTTONS.get(i18n.t(label, **values), callback_data, url)


def share_link(bot_username: str, service: Service) -> str:
    return f"https://t.me/{bot_username}?start=s_{service.code}"


def service_card(service: Service, bot_username: str) -> View:
    text = i18n.t(
        texts.SERVICE_CARD,
        name=escape(service.name),
        duration=i18n.minutes(service.duration_min),
        timezone=escape(service.timezone),
        zoom=i18n.t(texts.ON if service.zoom_enabled else texts.OFF),
        link=escape(share_link(bot_username, service)),
    )
    keyboard = Keyboard(
        [
            [
                # Carries the state asked for, so pressing a stale card twice cannot flip it back.
                button(
                    texts.BUTTON_ZOOM_ON if service.zoom_enabled else texts.BUTTON_ZOOM_OFF,
                    callback_data=data(Verb.TOGGLE_ZOOM, service.id, 0 if service.zoom_enabled else 1),
                ),
                button(texts.BUTTON_ORDERS, callback_data=data(Verb.SERVICE_ORDERS, service.id)),
            ],
            [
                button(texts.BUTTON_SETTINGS, callback_data=data(Verb.SETTINGS, service.id)),
                button(texts.BUTTON_BOOK_CLIENT, callback_data=data(Verb.CLIENT_DAYS, service.id)),
            ],
        ]
    )
    return text, keyboard


def service_offer(service: Service) -> View:
    text = i18n.t(
        texts.SERVICE_CARD_FOR_CUSTOMER,
        name=escape(service.name),
        duration=i18n.minutes(service.duration_min),
        timezone=escape(service.timezone),
    )
    return text, Keyboard([[button(texts.BUTTON_ORDER, callback_data=data(Verb.ORDER_DAYS, service.code))]])


def duration_keyboard(verb: Verb, *prefix: object) -> InlineKeyboardMarkup:
    row = [
        _BUTTONS.get(i18n.minutes(minutes), data(verb, *prefix, minutes), None)
        for minutes in DURATION_CHOICES
    ]
    return Keyboard([row[:3], row[3:]])


def days_keyboard(days: list[date], verb: Verb, key: object) -> InlineKeyboardMarkup:
    buttons = [_BUTTONS.get(day_label(day), data(verb, key, slots.day_data(day)), None) for day in days]
    return Keyboard([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def times_keyboard(
    starts: list[datetime],
    timezone: str,
    verb: Verb,
    key: object,
    back: str,
    *,
    page_verb: Verb | None = None,
    page: int = 0,
) -> InlineKeyboardMarkup:
    """Start buttons, ascending; more than TIMES_PER_PAGE are paged (page buttons use `page_verb`)."""
    zone = ZoneInfo(timezone)
    pages = max(1, -(-len(starts) // TIMES_PER_PAGE)) if page_verb else 1
    page = min(max(page, 0), pages - 1)
    shown = starts[page * TIMES_PER_PAGE : (page + 1) * TIMES_PER_PAGE] if page_verb else starts
    buttons = [_time_button(start.astimezone(zone), verb, key) for start in shown]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    if page_verb and pages > 1:
        day = slots.day_data(starts[0].astimezone(zone))
        turn = []
        if page > 0:
            turn.append(button(texts.TIMES_EARLIER, callback_data=data(page_verb, key, day, page - 1)))
        if page < pages - 1:
            turn.append(button(texts.TIMES_LATER, callback_data=data(page_verb, key, day, page + 1)))
        rows.append(turn)
    rows.append([button(texts.BUTTON_OTHER_DAYS, callback_data=back)])
    return Keyboard(rows)


def _time_button(local: datetime, verb: Verb, key: object) -> InlineKeyboardButton:
    clock = f"{local.hour:02d}:{local.minute:02d}"  # strftime("%H:%M"), a few times cheaper
    return _BUTTONS.get(clock, data(verb, key, slots.local_data(local)), None)


def meeting_line(order: Order) -> str:
    if not order.wants_meeting and order.meeting_state == MeetingState.NONE:
        return i18n.t(texts.MEETING_NONE)
    lines = {
        MeetingState.READY: texts.MEETING_READY,
        MeetingState.PENDING: texts.MEETING_UPDATING if order.join_url else texts.MEETING_PENDING,
        MeetingState.WAITING_RECONNECT: texts.MEETING_WAITING_RECONNECT,
        MeetingState.WAITING_LIMIT: texts.MEETING_WAITING_LIMIT,
        MeetingState.DELETED_IN_ZOOM: texts.MEETING_DELETED,
        MeetingState.DRIFTED: texts.MEETING_DRIFTED,
        MeetingState.NONE: texts.MEETING_NONE,
    }
    if order.meeting_state == MeetingState.FAILED:
        reason = escape(order.meeting_error) if order.meeting_error else i18n.t(texts.UNKNOWN_ERROR)
        return i18n.t(texts.MEETING_FAILED, reason=reason)
    line = lines[order.meeting_state]
    if not order.is_active and order.join_url:
        return i18n.t(texts.MEETING_KEPT)
    return i18n.t(line)


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start=o_{code}"


def order_text(order: Order, role: str, bot_username: str = "") -> str:
    party = i18n.t(texts.CARD_CUSTOMER, name=escape(order.customer_name)) if role == "owner" else ""
    if role == "owner" and order.awaits_client and order.invite_code:
        party = i18n.t(texts.ORDER_CLIENT_WAITING, name=escape(order.client_name or ""))
        if bot_username:
            link = escape(invite_link(bot_username, order.invite_code))
            party += "\n" + i18n.t(texts.ORDER_INVITE, link=link)
    text = i18n.t(
        texts.ORDER_CARD,
        id=order.id,
        status=i18n.t(texts.STATUS_NAMES[order.status.value]),
        service=escape(order.service_name),
        name=escape(order.name),
        start=when(order.start_at, order.timezone),
        duration=i18n.minutes(order.duration_min),
        party=party,
        meeting=meeting_line(order),
    )
    return text.replace("\n\n", "\n")


def join_row(order: Order) -> list[InlineKeyboardButton]:
    if (
        order.join_url
        and order.is_active
        and order.meeting_state in (MeetingState.READY, MeetingState.PENDING)
    ):
        return [button(texts.BUTTON_JOIN, url=order.join_url)]
    return []


def order_keyboard(
    order: Order, role: str, *, can_create_meeting: bool = False, can_retry: bool = False
) -> InlineKeyboardMarkup | None:
    rows = [row for row in [join_row(order)] if row]
    can_retry = can_retry and role == "owner"
    if can_retry:  # something of the order was given up: Retry runs it again (the meeting too)
        rows.append([button(texts.BUTTON_RETRY, callback_data=data(Verb.RETRY, order.id))])
    if order.is_active:
        if role == "owner":
            # Done and Confirm act at once: they carry the version the card shows.
            done = data(Verb.ORDER_ACTION, order.id, OrderAction.DONE, order.version)
            first = [button(texts.BUTTON_DONE, callback_data=done)]
            if order.status == OrderStatus.NEW:
                confirm = data(Verb.ORDER_ACTION, order.id, OrderAction.CONFIRM, order.version)
                first.insert(0, button(texts.BUTTON_CONFIRM, callback_data=confirm))
            rows.append(first)
        rows.append(
            [
                button(
                    texts.BUTTON_RESCHEDULE,
                    callback_data=data(Verb.ORDER_ACTION, order.id, OrderAction.RESCHEDULE),
                ),
                button(
                    texts.BUTTON_RENAME, callback_data=data(Verb.ORDER_ACTION, order.id, OrderAction.RENAME)
                ),
                button(
                    texts.BUTTON_DURATION,
                    callback_data=data(Verb.ORDER_ACTION, order.id, OrderAction.DURATION),
                ),
            ]
        )
        if role == "owner":
            last = [
                button(
                    texts.BUTTON_REJECT, callback_data=data(Verb.ORDER_ACTION, order.id, OrderAction.REJECT)
                )
            ]
            if order.meeting_state == MeetingState.DRIFTED:
                restore = data(Verb.ORDER_ACTION, order.id, OrderAction.RESTORE_MEETING)
                last.append(button(texts.BUTTON_RESTORE_MEETING, callback_data=restore))
            elif (
                can_create_meeting
                and not can_retry
                and not order.join_url
                and order.meeting_state != MeetingState.PENDING
            ):
                create = data(Verb.ORDER_ACTION, order.id, OrderAction.CREATE_MEETING)
                last.append(button(texts.BUTTON_CREATE_MEETING, callback_data=create))
            rows.append(last)
        else:
            rows.append(
                [
                    button(
                        texts.BUTTON_CANCEL,
                        callback_data=data(Verb.ORDER_ACTION, order.id, OrderAction.CANCEL),
                    )
                ]
            )
    rows.append([button(texts.BUTTON_ADD_TO_CALENDAR, callback_data=data(Verb.CALENDAR_FILE, order.id))])
    return Keyboard(rows)


def order_card(
    order: Order,
    role: str,
    *,
    can_create_meeting: bool = False,
    can_retry: bool = False,
    bot_username: str = "",
) -> View:
    text = order_text(order, role, bot_username)
    return text, order_keyboard(order, role, can_create_meeting=can_create_meeting, can_retry=can_retry)


def card_view(card: OrderCard) -> View:
    """An order card in the current language (the reader's)."""
    return order_card(
        card.order,
        card.role,
        can_create_meeting=card.can_create_meeting,
        can_retry=card.can_retry,
        bot_username=card.bot_username,
    )


def reminder_view(order: Order) -> View:
    """The reminder in the current language (the recipient's)."""
    text = i18n.t(
        texts.REMINDER,
        id=order.id,
        start=when(order.start_at, order.timezone),
        service=escape(order.service_name),
        name=escape(order.name),
    )
    join = join_row(order)
    return text, Keyboard([join]) if join else None


def confirm_keyboard(order: Order, verb: OrderAction, *extra: object) -> InlineKeyboardMarkup:
    return Keyboard(
        [
            [
                button(
                    texts.BUTTON_CONFIRM,
                    callback_data=data(Verb.ACTION_CONFIRMED, order.id, verb, order.version, *extra),
                ),
                button(texts.BUTTON_BACK, callback_data=data(Verb.ACTION_KEPT, order.id)),
            ]
        ]
    )


def calendar_feed_keyboard() -> InlineKeyboardMarkup:
    return Keyboard([[button(texts.BUTTON_NEW_FEED_LINK, callback_data=data(Verb.NEW_FEED_LINK))]])


def retry_keyboard(order_id: int) -> InlineKeyboardMarkup:
    """Under the notice of a given-up job: run the order's given-up jobs again."""
    return Keyboard([[button(texts.BUTTON_RETRY, callback_data=data(Verb.RETRY, order_id))]])


def join_keyboard(join_url: str | None) -> InlineKeyboardMarkup | None:
    if not join_url:
        return None
    return Keyboard([[button(texts.BUTTON_JOIN, url=join_url)]])


DAYS_OFF_SHOWN = 20  # runs of days off listed (and given a Remove button) in one message


def hours_keyboard(service_id: int, *, own: bool = False) -> InlineKeyboardMarkup:
    """A button per weekday (service 0: the owner's own week)."""
    buttons = [
        _BUTTONS.get(i18n.weekday(day), data(Verb.HOURS_DAY, day, service_id), None) for day in range(7)
    ]
    rows = [buttons[:4], buttons[4:]]
    if own:
        rows.append([button(texts.HOURS_SHARED_BUTTON, callback_data=data(Verb.SHARED_HOURS, service_id))])
    return Keyboard(rows)


def day_off_keyboard(nonce: str, day: str) -> InlineKeyboardMarkup:
    return Keyboard([[button(texts.HOURS_OFF_BUTTON, callback_data=data(Verb.DAY_OFF, nonce), day=day)]])


def days_off_keyboard(ranges: list[tuple[date, date]], labels: list[str]) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                texts.AWAY_REMOVE_BUTTON,
                callback_data=data(Verb.REMOVE_DAYS_OFF, slots.day_data(first), slots.day_data(last)),
                days=label,
            )
        ]
        for (first, last), label in list(zip(ranges, labels, strict=True))[:DAYS_OFF_SHOWN]
    ]
    return Keyboard(rows)


def setting_label(key: str, value: int) -> str:
    """How one choice of a setting reads on its button, in the current language."""
    if key in ("no", "ch") and value == 0:
        return i18n.t(texts.SETTINGS_NOTICE_NONE if key == "no" else texts.SETTINGS_CHANGES_ANY)
    if key in ("no", "ch"):
        return i18n.t(texts.SETTING_HOURS_LABEL, count=value // 60)
    if key == "ho":
        return i18n.t(texts.SETTING_DAYS_LABEL, count=value)
    return i18n.minutes(value)


def settings_card(service: Service, reminders: str) -> View:
    changes = (
        i18n.t(texts.SETTINGS_HOURS_BEFORE, count=service.changes_min // 60)
        if service.changes_min
        else i18n.t(texts.SETTINGS_CHANGES_ANY)
    )
    text = i18n.t(
        texts.SETTINGS_CARD,
        name=escape(service.name),
        duration=i18n.minutes(service.duration_min),
        step=i18n.minutes(service.step_min),
        buffer=i18n.minutes(service.buffer_min),
        notice=setting_label("no", service.notice_min),
        horizon=setting_label("ho", service.horizon_days),
        changes=changes,
        reminders=reminders,
        hours=i18n.t(texts.SETTINGS_HOURS_OWN if service.own_hours else texts.SETTINGS_HOURS_SHARED),
    )
    buttons = [
        button(label, callback_data=data(Verb.SETTING_PICK, service.id, key))
        for key, label in texts.SETTING_NAMES.items()
    ]
    return text, Keyboard([buttons[:3], buttons[3:6], buttons[6:]])


def setting_choices(
    service: Service, key: str, choices: tuple[int, ...], current: int
) -> InlineKeyboardMarkup:
    buttons = [
        _BUTTONS.get(
            i18n.t(texts.SETTING_CURRENT, label=setting_label(key, value))
            if value == current
            else setting_label(key, value),
            data(Verb.SETTING_CHOOSE, service.id, key, value),
            None,
        )
        for value in choices
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([button(texts.SETTINGS_BACK, callback_data=data(Verb.SETTINGS, service.id, 1))])
    return Keyboard(rows)


def reminder_choices(service: Service) -> InlineKeyboardMarkup:
    return Keyboard(
        [
            [
                button(
                    texts.REMINDERS_DEFAULT_BUTTON,
                    callback_data=data(Verb.SETTING_CHOOSE, service.id, "re", "default"),
                ),
                button(
                    texts.REMINDERS_OFF_BUTTON,
                    callback_data=data(Verb.SETTING_CHOOSE, service.id, "re", "off"),
                ),
            ],
            [button(texts.SETTINGS_BACK, callback_data=data(Verb.SETTINGS, service.id, 1))],
        ]
    )
