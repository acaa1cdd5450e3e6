"""Errors a user caused or may fix: their message is shown in chat as it is (already HTML-safe)."""

from __future__ import annotations


class UserError(Exception):
    """Something the user asked for cannot be done; `str(error)` tells them why in words."""


class NotAllowed(UserError):
    """The acting user may not do this (not their service or order)."""


class StaleAction(UserError):
    """A button or step is out of date."""


class SlotTaken(UserError):
    """The chosen time was booked by someone else meanwhile."""
