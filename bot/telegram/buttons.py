"""Callback data of inline buttons: short ASCII strings (Telegram allows 64 bytes) carrying ids only.

Every id read back is checked against the database by the service that acts on it; nothing here is
trusted beyond its shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^[a-z]{1,3}(:[A-Za-z0-9_-]{1,24}){0,5}$")
MAX_BYTES = 64
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


@dataclass(frozen=True)
class Press:
    """A parsed button press: a short verb and its string arguments."""

    verb: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int | None:
        value = self.args[index] if index < len(self.args) else ""
        if not (value.isascii() and value.isdecimal()) or len(value) > 10 or int(value) > MAX_ID:
            return None
        return int(value)

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None


def data(verb: str, *args: object) -> str:
    value = ":".join([verb, *(str(arg) for arg in args)])
    if len(value.encode()) > MAX_BYTES or not _PATTERN.fullmatch(value):
        raise ValueError(f"callback data would be invalid: {value!r}")
    return value


def parse(value: str | None) -> Press | None:
    """The press, or None for anything that is not data this bot could have made."""
    if not value or len(value.encode()) > MAX_BYTES or not _PATTERN.fullmatch(value):
        return None
    verb, *args = value.split(":")
    return Press(verb, tuple(args))
