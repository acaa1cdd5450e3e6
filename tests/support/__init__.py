"""Test support in one package: databases, the sandbox and the bot (`sandbox.harness`), the journeys
through the bot, and the one way to wait.

The old import names keep working: `from tests.support import BotProcess, fresh_database, ...`.
"""

from sandbox.harness import BotInProcess, BotProcess, Sandbox, bot_environment, start_sandbox
from tests.support.databases import POSTGRES_URL, fresh_database, migrated_template, postgres_reachable

__all__ = [
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
