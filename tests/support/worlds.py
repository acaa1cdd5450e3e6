"""A bot shared by the tests of a module: a sandbox, a database and the real bot running against them. Its
tests use fresh users (`journeys.someone`, `journeys.new_user_id`), so they do not see each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.harness import BotInProcess, BotProcess, Sandbox, bot_environment, start_sandbox
from sandbox.telegram.client import TelegramControl
from tests.support.databases import database_kind, fresh_database

# Time knobs every test bot runs with (a folder's `bot_settings` and a test's `bot_env` marker add theirs).
# Knobs every test bot gets: Telegram's per-chat window (5 writes in 5 s) shrunk to 5 in 1 s, so robots that
# press as fast as the bot answers do not wait out a limit the emulator does not enforce unless a test turns
# it on (tests of the pacing set their own).
TEST_KNOBS: dict[str, str] = {"TELEGRAM_CHAT_PERIOD_SECONDS": "1"}


@dataclass
class World:
    """A sandbox, a database and the real bot running against them (in this process; in webhook mode as
    `python -m bot`)."""

    sandbox: Sandbox
    bot: BotProcess | BotInProcess
    database_url: str
    folder: Path
    telegram: TelegramControl

    def log(self) -> str:
        return self.bot.logs()


@contextmanager
def running_world(
    folder: Path, env: Callable[[Sandbox, str], dict[str, str]] | None = None
) -> Iterator[World]:
    """Start a sandbox and the bot; `env` may build the bot's environment differently."""
    sandbox = start_sandbox()
    telegram = TelegramControl(sandbox.telegram_server.url)
    try:
        with fresh_database(database_kind(), folder) as url:
            environment = {**TEST_KNOBS, **(env(sandbox, url) if env else bot_environment(sandbox, url))}
            kind = BotProcess if environment.get("TELEGRAM_MODE") == "webhook" else BotInProcess
            bot = kind.in_folder(sandbox, environment, folder)
            bot.start()
            try:
                yield World(sandbox, bot, url, folder, telegram)
            finally:
                bot.stop()
    finally:
        telegram.close()
        sandbox.stop()
