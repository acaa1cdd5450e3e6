"""Moved to `tests.support.reminders`; kept so older imports keep working."""

from tests.support.reminders import (  # noqa: F401
    REMINDER,
    SoonOrder,
    SoonSlot,
    join_of,
    next_start,
    reminders,
    set_reminders,
    soon_service,
    soon_slot,
    soon_zoom_order,
    summary_at,
    wait_for_reminders,
)
