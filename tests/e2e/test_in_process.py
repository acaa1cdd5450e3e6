"""The fast test layer: the bot's composition root run inside the test process behaves as `python -m bot`
does for the tests (answers, stops cleanly, starts again on the same database, logs to its own file)."""

from __future__ import annotations

import gc
import os
import socket
from pathlib import Path

import pytest

from sandbox.harness import BotInProcess, Sandbox, bot_environment
from tests.support.journeys import person


def test_the_bot_in_process_answers_stops_and_starts_again_from_its_env_alone(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    env = bot_environment(sandbox, database_url, LOG_LEVEL="DEBUG")
    bot = BotInProcess.in_folder(sandbox, env, tmp_path)
    customer = person(sandbox, 7, "Carl")
    bot.start()
    try:
        customer.send("/help")
        customer.wait_for(lambda m: "/newservice" in m.text, description="the answer to /help")
        assert bot.stop() == 0
        bot.start()
        sent = customer.send("/help")
        customer.wait_for(lambda m: m.message_id > sent and "/newservice" in m.text, description="again")
    finally:
        assert bot.stop() == 0
    assert bot.starts == 2
    assert "TELEGRAM_BOT_TOKEN" not in os.environ  # the settings came from `env`, not the test's environment
    log = bot.logs()
    assert log.count("is running (polling)") == 2 and log.count("Stopped") == 2
    assert " DEBUG " in log  # LOG_LEVEL from `env`
    assert sandbox.credentials.bot_token not in log  # masked as the process masks it


def test_a_bot_that_cannot_bind_its_port_stops_and_closes_its_connections(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    bot = BotInProcess.in_folder(sandbox, bot_environment(sandbox, database_url), tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", sandbox.bot_port))
        taken.listen()
        with pytest.raises(AssertionError, match="the bot stopped with 3"):
            bot.start()
    assert bot.stop() == 3  # uvicorn's exit code when it cannot bind, as the process would end
    assert "The bot stopped: SystemExit" in bot.logs()
    gc.collect()  # a connection left open would warn here, and warnings are errors
