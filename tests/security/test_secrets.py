"""Secrets stay secret: not in logs (even at DEBUG), chats or the database; tokens are encrypted at rest."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sandbox.harness import BotProcess, Sandbox, bot_environment
from sandbox.telegram.client import TelegramControl, TelegramUser
from tests.support.databases import database_dump, is_sqlite, stored_tokens
from tests.support.journeys import (
    book_with_zoom,
    connect_link,
    create_service,
    has_join,
    new_user_id,
    order,
    person,
    reschedule,
    zoom_service,
)
from tests.support.observe import log_problems, query_of, states_in, zoom_secrets
from tests.support.worlds import World, running_world

KEY_FILE_NOTICE = "No ENCRYPTION_KEY set: generated one into"


@pytest.fixture
def telegram(sandbox: Sandbox) -> Iterator[TelegramControl]:
    with TelegramControl(sandbox.telegram_server.url) as control:
        yield control


def start_bot(sandbox: Sandbox, env: dict[str, str], folder: Path) -> BotProcess:
    return BotProcess.in_folder(sandbox, env, folder).start()


def secrets_of_the_run(sandbox: Sandbox, owner: TelegramUser, *keys: str) -> dict[str, str]:
    """Every secret value that must stay out of logs, chats and (in plain text) the database."""
    credentials = sandbox.credentials
    found = {
        "bot token": credentials.bot_token,
        "bot token secret part": credentials.bot_token.split(":", 1)[1],
        "Zoom client secret": credentials.zoom_client_secret,
        "Zoom webhook secret": credentials.zoom_webhook_secret,
    }
    found.update({f"encryption key {n}": key for n, key in enumerate(keys)})
    issued = zoom_secrets(sandbox)
    assert len(issued.access_tokens) >= 3 and len(issued.refresh_tokens) >= 3, "refreshes did happen"
    assert issued.codes and issued.code_verifiers
    found.update({f"access token {n}": value for n, value in enumerate(sorted(issued.access_tokens))})
    found.update({f"refresh token {n}": value for n, value in enumerate(sorted(issued.refresh_tokens))})
    found.update({f"authorization code {n}": value for n, value in enumerate(sorted(issued.codes))})
    found.update({f"PKCE verifier {n}": value for n, value in enumerate(sorted(issued.code_verifiers))})
    return found


def test_a_full_journey_at_debug_level_leaks_no_secret(
    sandbox: Sandbox, database_url: str, tmp_path: Path, telegram: TelegramControl
) -> None:
    first_key, second_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    env = bot_environment(sandbox, database_url, LOG_LEVEL="DEBUG", ENCRYPTION_KEY=first_key)
    sandbox.zoom_control.set_token_lifetime(60)  # shorter than the bot's refresh margin: every use refreshes
    bot = start_bot(sandbox, env, tmp_path)
    try:
        booked = book_with_zoom(sandbox, time_label="10:00")
        owner, customer, card = booked.owner, booked.customer, booked.card
        # Key rotation: the new key first, the old one still accepted.
        bot.stop()
        bot.env["ENCRYPTION_KEY"] = f"{second_key},{first_key}"
        bot.start()
        reschedule(customer, card, 2, "14:00")
        customer.wait_for(lambda m: "Rescheduled" in m.text, timeout=20)
        (status, access, refresh) = stored_tokens(database_url, owner.user_id)[0]
        assert status == "active" and access and refresh
        Fernet(second_key.encode()).decrypt(access.encode())  # re-encrypted with the first key of the list
        with pytest.raises(InvalidToken):
            Fernet(first_key.encode()).decrypt(access.encode())
        dump_while_connected = database_dump(database_url)
        owner.send("/zoom")
        owner.press(owner.wait_for_text("connected as"), "Disconnect")
        owner.press(owner.wait_for_text("Disconnect Zoom"), "Disconnect")
        owner.wait_for_text("Zoom is disconnected")
    finally:
        bot.stop()

    secrets = secrets_of_the_run(sandbox, owner, first_key, second_key)
    states = states_in(owner.messages())
    assert states
    log = bot.logs()
    assert " DEBUG " in log
    chats = [message for user in (owner, customer) for message in user.messages()]
    chat_texts = "\n".join(m.text for m in chats)
    other_buttons = "\n".join(
        f"{b.text} {b.url} {b.callback_data}"
        for m in chats
        for row in m.buttons
        for b in row
        if b.text != "Connect Zoom"
    )
    to_telegram = "\n".join(str(call.params) for call in telegram.calls())
    for name, value in secrets.items():
        assert value not in log, f"the {name} is in the bot's log"
    for name, value in {**secrets, **{f"state {n}": s for n, s in enumerate(states)}}.items():
        assert value not in chat_texts and value not in other_buttons, f"the {name} is in a chat"
        assert value not in dump_while_connected, f"the {name} is in the database in plain text"
    for name, value in secrets.items():
        assert value not in to_telegram, f"the {name} was sent to Telegram"
    for marker in ("start_url", "zak="):
        assert marker not in chat_texts + other_buttons and marker not in to_telegram
        assert marker not in dump_while_connected and marker not in log
    assert not log_problems(log)


@pytest.mark.skipif(
    os.environ.get("BOT_TEST_DATABASE", "sqlite") != "sqlite",
    reason="the generated key file is the embedded SQLite default; PostgreSQL refuses to start without a key "
    "(test_postgresql_without_a_key_refuses_to_start)",
)
def test_without_a_key_on_sqlite_one_is_generated_owner_readable_and_announced_once(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    assert is_sqlite(database_url)
    env = bot_environment(sandbox, database_url)
    del env["ENCRYPTION_KEY"]
    bot = start_bot(sandbox, env, tmp_path)
    try:
        key_file = tmp_path / "secret.key"
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        owner, customer = person(sandbox, new_user_id(), "Olivia"), person(sandbox, new_user_id(), "Carl")
        shop = zoom_service(sandbox, owner, 30, "Call")
        bot.stop()
        bot.start()  # the same key file is used again, and not announced again
        order(customer, shop.code)
        customer.wait_for(has_join, timeout=15, description="a meeting made with the stored tokens")
    finally:
        bot.stop()
    key = key_file.read_text().strip()
    log = bot.logs()
    assert log.count(KEY_FILE_NOTICE) == 1 and str(key_file) in log
    assert key not in log
    (status, access, refresh) = stored_tokens(database_url, owner.user_id)[0]
    assert status == "active" and access and refresh
    issued = zoom_secrets(sandbox)
    cipher = MultiFernet([Fernet(key.encode())])
    assert cipher.decrypt(access.encode()).decode() in issued.access_tokens
    assert cipher.decrypt(refresh.encode()).decode() in issued.refresh_tokens
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(access.encode())
    dump = database_dump(database_url)
    for token in issued.access_tokens | issued.refresh_tokens:
        assert token not in dump
    assert key not in dump


def test_postgresql_without_a_key_refuses_to_start(sandbox: Sandbox, tmp_path: Path) -> None:
    env = bot_environment(sandbox, "postgresql+asyncpg://nobody@127.0.0.1:9/none")
    del env["ENCRYPTION_KEY"]
    done = subprocess.run(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "ENCRYPTION_KEY" in lines[0] and "Traceback" not in lines[0]
    assert not (tmp_path / "secret.key").exists() and not list(tmp_path.rglob("secret.key"))


@pytest.mark.parametrize(
    "key", ["not-a-key", Fernet.generate_key().decode()[:-2], ","], ids=["not-a-key", "truncated", "comma"]
)
def test_a_malformed_key_stops_start_up_with_one_line_that_does_not_repeat_it(
    sandbox: Sandbox, tmp_path: Path, key: str
) -> None:
    env = bot_environment(sandbox, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", ENCRYPTION_KEY=key)
    done = subprocess.run(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2 and "ENCRYPTION_KEY" in output and "Traceback" not in output
    if key.strip(","):
        assert key not in output
    assert not re.search(r"[A-Za-z0-9_-]{43}=", output)


@pytest.fixture(scope="module")
def debug_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    def env(sandbox: Any, url: str) -> dict[str, str]:
        return bot_environment(sandbox, url, LOG_LEVEL="DEBUG")

    with running_world(tmp_path_factory.mktemp("secrets-debug"), env) as running:
        yield running


def test_the_oauth_state_of_a_login_link_is_not_logged_at_debug(debug_world: World) -> None:
    owner = person(debug_world.sandbox, new_user_id(), "Olivia")
    link = connect_link(owner, create_service(owner, 30, "Call"))
    state = query_of(link)["state"]
    assert state not in debug_world.log()


@pytest.mark.parametrize("secret", ["has spaces", "ü-umlaut", "x" * 257, "semi;colon"])
def test_a_webhook_secret_telegram_would_refuse_stops_start_up_with_one_line(
    sandbox: Sandbox, tmp_path: Path, secret: str
) -> None:
    env = bot_environment(
        sandbox,
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET=secret,
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2, lines
    assert len(lines) == 1 and "TELEGRAM_WEBHOOK_SECRET" in lines[0] and "Traceback" not in lines[0]
    assert secret not in lines[0]
