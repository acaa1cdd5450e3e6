"""Errors a user caused or may fix: their message is shown in chat in the user's language (HTML-safe)."""

from __future__ import annotations

from bot.i18n import Plural, Text, Value, t


class UserError(Exception):
    """Something the user asked for cannot be done; `str(error)` tells them why, in their language.

    Raised with a text key and its values (`UserError(texts.NAME_TOO_LONG, length=n, max=m)`), so the
    message is rendered for whoever reads it.
    """

    def __init__(self, key: str | Plural | Text, **values: Value) -> None:
        self.text = key if isinstance(key, Text) else Text(key, values)
        super().__init__(self.text.key)

    def __str__(self) -> str:
        return t(self.text)


class NotAllowed(UserError):
    """The acting user may not do this (not their service or order)."""


class StaleAction(UserError):
    """A button or step is out of date."""


class SlotTaken(UserError):
    """The chosen time was booked by someone else meanwhile."""
