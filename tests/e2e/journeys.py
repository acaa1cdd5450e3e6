"""Moved to `tests.support.journeys`; kept so older imports keep working."""

from tests.support.journeys import *  # noqa: F403
