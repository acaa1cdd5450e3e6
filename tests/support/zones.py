"""The owners' time zone in the tests: chosen once per run, so a run can be made at any local time of day."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones


def owner_zone_at(local_time: str, now: datetime | None = None) -> str:
    """The IANA zone (Area/City) whose wall clock is closest to `local_time` (HH:MM) at `now`.

    Offsets run from -12:00 to +14:00, so every time of day is within half an hour of some zone's.
    """
    hours, minutes = (int(part) for part in local_time.split(":"))
    target = hours * 60 + minutes
    moment = now or datetime.now(UTC)

    def distance(zone: str) -> tuple[int, str]:
        local = moment.astimezone(ZoneInfo(zone))
        gap = abs(local.hour * 60 + local.minute - target)
        return min(gap, 24 * 60 - gap), zone

    areas = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")
    return min((zone for zone in available_timezones() if zone.startswith(areas)), key=distance)


def _owner_zone() -> str:
    """BOT_TEST_TIMEZONE, else the zone where it is BOT_TEST_LOCAL_TIME (HH:MM) now, else Europe/Berlin.

    Exported as BOT_TEST_TIMEZONE, so the bot processes (DEFAULT_TIMEZONE, see `sandbox.harness`), xdist
    workers and the tests all use the one zone chosen when the run started.
    """
    zone = os.environ.get("BOT_TEST_TIMEZONE")
    if not zone:
        wanted = os.environ.get("BOT_TEST_LOCAL_TIME")
        zone = owner_zone_at(wanted) if wanted else "Europe/Berlin"
        os.environ["BOT_TEST_TIMEZONE"] = zone
    return zone


# The time zone of the owners in the end-to-end tests (and the bot's DEFAULT_TIMEZONE there).
OWNER_ZONE = _owner_zone()
