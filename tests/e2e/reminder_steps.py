"""Moved to `tests.support.reminders`; kept so older imports keep working."""

from tests.support.reminders import *  # noqa: F403
