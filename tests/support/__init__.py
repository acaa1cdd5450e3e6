"""Test support in one package: databases, the sandbox and the bot (`sandbox.harness`), the journeys
through the bot, and the one way to wait.

The old import names keep working: `from tests.support import BotProcess, fresh_database, ...`.
"""

from sandbox.harness import BotInProcess, BotProcess, Sandbox, bot_environment, start_sandbox
from tests.support.databases import POSTGRES_URL, fresh_database, migrated_template, postgres_reachable

# Time knobs every test bot runs with (a test's `bot_env` marker may set them back): the production value
# makes each step of a conversation wait up to 0.3 s for the bot to poll again; these tests don't test that.
TEST_KNOBS = {"TELEGRAM_BUSY_RECHECK_SECONDS": "0.02"}

__all__ = [
    "TEST_KNOBS",
    "POSTGRES_URL",
    "BotInProcess",
    "BotProcess",
    "Sandbox",
    "bot_environment",
    "fresh_database",
    "migrated_template",
    "postgres_reachable",
    "start_sandbox",
]
