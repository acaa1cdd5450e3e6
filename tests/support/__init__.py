"""Test support in one package, one helper per journey and one way to wait:

- `databases`: a fresh database per test, PostgreSQL's availability, reading and writing rows directly;
- `waiting`: `eventually`, and the barriers to wait on before asserting that nothing happened;
- `journeys`: what people do through the Telegram emulator (create a service, connect Zoom, order, ...);
- `crowds`: many customers ordering at once, and the checks of one meeting and one link per order;
- `observe`: what Zoom saw and issued, what Telegram refused, problems in the bot's log;
- `reminders`: orders that start soon and reminders that fire within seconds;
- `worlds`: a bot shared by a module's tests; `services`: the services wired without Telegram;
- `zones`: the owners' time zone of the run. The bot itself and the sandbox are in `sandbox.harness`.
"""

from sandbox.harness import BotInProcess, BotProcess, Sandbox, bot_environment, start_sandbox
from tests.support.databases import (
    POSTGRES_URL,
    database_kinds,
    fresh_database,
    migrated_template,
    postgres_available,
    postgres_reachable,
    query,
)
from tests.support.waiting import (
    barrier,
    busy_jobs,
    eventually,
    probe,
    stays_the_same,
    wait_for_drained_jobs,
    wait_until,
)
from tests.support.worlds import TEST_KNOBS
from tests.support.zones import OWNER_ZONE, owner_zone_at  # first: exports the zone before the bot reads it

__all__ = [
    "OWNER_ZONE",
    "TEST_KNOBS",
    "POSTGRES_URL",
    "BotInProcess",
    "BotProcess",
    "Sandbox",
    "barrier",
    "bot_environment",
    "busy_jobs",
    "database_kinds",
    "eventually",
    "fresh_database",
    "migrated_template",
    "owner_zone_at",
    "postgres_available",
    "postgres_reachable",
    "probe",
    "query",
    "stays_the_same",
    "start_sandbox",
    "wait_for_drained_jobs",
    "wait_until",
]
