"""Test support in one package: databases, the sandbox and the bot (`sandbox.harness`), the journeys
through the bot, and the one way to wait.

The old import names keep working: `from tests.support import BotProcess, fresh_database, ...`.
"""

from sandbox.harness import BotInProcess, BotProcess, Sandbox, bot_environment, start_sandbox
from tests.support.databases import POSTGRES_URL, fresh_database, migrated_template, postgres_reachable
from tests.support.waiting import (
    barrier,
    busy_jobs,
    eventually,
    probe,
    query_rows,
    wait_for_drained_jobs,
    wait_until,
)
from tests.support.zones import OWNER_ZONE, owner_zone_at  # first: exports the zone before the bot reads it

# Time knobs every test bot runs with (a test's `bot_env` marker may set them back): the production value
# makes each step of a conversation wait up to 0.3 s for the bot to poll again; these tests don't test that.
TEST_KNOBS = {"TELEGRAM_BUSY_RECHECK_SECONDS": "0.02"}

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
    "eventually",
    "fresh_database",
    "migrated_template",
    "owner_zone_at",
    "postgres_reachable",
    "probe",
    "query_rows",
    "start_sandbox",
    "wait_for_drained_jobs",
    "wait_until",
]
