"""Callback data of inline buttons: short ASCII strings (Telegram allows 64 bytes) carrying ids only.

Every id read back is checked against the database by the service that acts on it; nothing here is
trusted beyond its shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import OrderAction

_PATTERN = re.compile(r"^[a-z]{1,3}(:[A-Za-z0-9_-]{1,24}){0,5}$")
MAX_BYTES = 64
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


class Verb(StrEnum):
    """Every button's verb, defined once: the first field of its callback data (the wire format)."""

    # an owner's service and Zoom
    TOGGLE_ZOOM = "zt"
    NEW_SERVICE_DURATION = "nd"
    CONNECT_ZOOM = "zc"
    DISCONNECT_ASK = "zd"
    DISCONNECT = "zy"
    KEEP_CONNECTION = "zn"
    SERVICE_ORDERS = "so"
    SETTINGS = "se"
    SETTING_PICK = "sk"
    SETTING_CHOOSE = "sv"
    HOURS_DAY = "hd"
    DAY_OFF = "hx"
    SHARED_HOURS = "hu"
    REMOVE_DAYS_OFF = "ar"
    # a customer ordering a slot
    ORDER_DAYS = "ob"
    ORDER_TIMES = "od"
    ORDER_TIME = "ot"
    ORDER_SKIP_NAME = "os"
    ORDER_CONFIRM = "ok"
    ORDER_ABORT = "ox"
    # an owner booking for a client
    CLIENT_DAYS = "bc"
    CLIENT_TIMES = "bd"
    CLIENT_TIME = "bt"
    CLIENT_CONFIRM = "bk"
    # an order's card: an action (its OrderAction as argument), its questions and answers
    ORDER_ACTION = "a"
    ORDERS_PAGE = "pg"
    RESCHEDULE_DAYS = "rd"
    RESCHEDULE_TIME = "rt"
    DURATION_PICKED = "dv"
    ACTION_CONFIRMED = "y"
    ACTION_KEPT = "n"
    CALENDAR_FILE = "ic"
    # anyone
    LANGUAGE = "lg"
    NEW_FEED_LINK = "cn"


_VERBS = {verb.value: verb for verb in Verb}
_ACTIONS = {action.value for action in OrderAction}


@dataclass(frozen=True)
class Press:
    """A parsed button press: its verb and its string arguments."""

    verb: Verb
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int | None:
        value = self.args[index] if index < len(self.args) else ""
        if not (value.isascii() and value.isdecimal()) or len(value) > 10 or int(value) > MAX_ID:
            return None
        return int(value)

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None

    def action(self, index: int) -> OrderAction | None:
        """The order action at `index`, or None for anything else."""
        value = self.arg(index)
        return OrderAction(value) if value in _ACTIONS else None


def data(verb: Verb, *args: object) -> str:
    value = ":".join([Verb(verb).value, *(str(arg) for arg in args)])
    if len(value.encode()) > MAX_BYTES or not _PATTERN.fullmatch(value):
        raise ValueError(f"callback data would be invalid: {value!r}")
    return value


def parse(value: str | None) -> Press | None:
    """The press, or None for anything that is not data this bot could have made."""
    if not value or len(value.encode()) > MAX_BYTES or not _PATTERN.fullmatch(value):
        return None
    verb, *args = value.split(":")
    known = _VERBS.get(verb)
    return Press(known, tuple(args)) if known is not None else None
