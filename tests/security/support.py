"""Helpers of the security suite: a bot per module, direct database reads, the secrets Zoom issued."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.harness import BotInProcess, BotProcess, Sandbox, bot_environment, start_sandbox
from sandbox.telegram.client import SentMessage, TelegramControl, TelegramUser
from tests.support import TEST_KNOBS, fresh_database, postgres_reachable
from tests.support.journeys import Booked, Shop, book_with_zoom, person

_user_ids = itertools.count(100_000)


def new_user_id() -> int:
    """A Telegram user id no other test of the run uses."""
    return next(_user_ids)


def database_kind() -> str:
    kind = os.environ.get("BOT_TEST_DATABASE", "sqlite")
    if kind == "postgresql" and not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable at TEST_POSTGRES_URL; its tests are skipped here")
    return kind


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


# The database, read the way an attacker with the file (or a database login) would.


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1`, `$2`, ..."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a read query with `?` placeholders, on SQLite or PostgreSQL."""
    if is_sqlite(url):
        with sqlite3.connect(_sqlite_path(url), timeout=30) as connection:
            return list(connection.execute(sql, args).fetchall())

    async def run() -> list[tuple[Any, ...]]:
        import asyncpg

        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        try:
            return [tuple(row) for row in await connection.fetch(_numbered(sql), *args)]
        finally:
            await connection.close()

    return asyncio.run(run())


def execute(url: str, sql: str, *args: Any) -> None:
    """A write statement with `?` placeholders, committed."""
    if is_sqlite(url):
        connection = sqlite3.connect(_sqlite_path(url), timeout=30)
        try:
            connection.execute(sql, args)
            connection.commit()
        finally:
            connection.close()
        return

    async def run() -> None:
        import asyncpg

        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        try:
            await connection.execute(_numbered(sql), *args)
        finally:
            await connection.close()

    asyncio.run(run())


def database_dump(url: str) -> str:
    """Everything the database holds, as text: every file's bytes on SQLite, every row on PostgreSQL."""
    if is_sqlite(url):
        path = Path(_sqlite_path(url))
        files = [path, *path.parent.glob(path.name + "-*")]  # the WAL and shared-memory files too
        return "\n".join(p.read_bytes().decode("latin-1") for p in files if p.exists())
    tables = [row[0] for row in query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return "\n".join(
        str(row[0])
        for table in tables
        for row in query(url, f'SELECT t::text FROM "{table}" t')  # noqa: S608 - names from pg_tables
    )


def stored_tokens(url: str, owner_id: int) -> list[tuple[Any, ...]]:
    """(status, access_token_enc, refresh_token_enc) of an owner's Zoom connection rows."""
    sql = "SELECT status, access_token_enc, refresh_token_enc FROM zoom_connections WHERE owner_id = ?"
    return query(url, sql, owner_id)


# What Zoom issued and what the bot sent it, from the emulator's own state and request log.


@dataclass(frozen=True)
class ZoomSecrets:
    access_tokens: set[str]
    refresh_tokens: set[str]
    codes: set[str]
    code_verifiers: set[str]

    def all(self) -> set[str]:
        return self.access_tokens | self.refresh_tokens | self.codes | self.code_verifiers


def zoom_secrets(sandbox: Sandbox) -> ZoomSecrets:
    authority = sandbox.zoom.authority
    access = set(authority._access)  # every access token ever issued (expiry keeps the key)
    refresh = {grant.refresh_token for grant in authority._grants.values() if grant.refresh_token}
    codes: set[str] = set()
    verifiers: set[str] = set()
    for entry in sandbox.zoom_control.requests():
        form = entry.get("form") or {}
        refresh |= {form["refresh_token"]} if form.get("refresh_token") else set()
        codes |= {form["code"]} if form.get("code") else set()
        verifiers |= {form["code_verifier"]} if form.get("code_verifier") else set()
        if entry["path"].endswith("/oauth/revoke") and form.get("token"):
            refresh.add(form["token"])
    return ZoomSecrets(access, refresh, codes, verifiers)


def states_in(messages: list[SentMessage]) -> set[str]:
    """The OAuth `state` of every Connect Zoom link the bot sent into a chat."""
    states = set()
    for message in messages:
        for row in message.buttons:
            for button in row:
                if button.url and "state=" in button.url:
                    states.update(parse_qs(urlsplit(button.url).query).get("state", []))
    return states


# Telegram: what the bot sent and whether the emulator accepted it.


def refused_calls(telegram: TelegramControl) -> list[str]:
    """Bot API calls the emulator refused, except edits that changed nothing (harmless)."""
    return [
        f"{call.method} {call.status} {call.description}: {str(call.params)[:300]}"
        for call in telegram.calls()
        if not call.ok and "not modified" not in (call.description or "")
    ]


def log_problems(log: str) -> list[str]:
    """Lines of the bot's log at ERROR or CRITICAL level, and tracebacks."""
    return [
        line
        for line in log.splitlines()
        if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
    ]


def connect_link(owner: TelegramUser, shop: Shop) -> str:
    """Press the Zoom switch of a service without a connection and return the Connect Zoom URL."""
    seen = max((m.message_id for m in owner.bot_messages()), default=0)
    owner.press(shop.card, "Zoom: Off")
    invite = owner.wait_for(
        lambda m: m.message_id > seen and "Connect Zoom" in str(m.buttons),
        description="a Connect Zoom button",
    )
    url = owner.press(invite, "Connect Zoom")
    assert url is not None
    return url


def callback_of(authorize_url: str) -> str:
    """What the browser does at zoom.us, without following the redirect: the bot's callback URL."""
    with httpx.Client(trust_env=False, timeout=10) as browser:
        answer = browser.get(authorize_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def book(
    world: World, *, email: str = "owner@example.com", minutes: int = 60, name: str = "Session"
) -> Booked:
    sandbox = world.sandbox
    sandbox.zoom_control.add_user(email)
    owner = person(sandbox, new_user_id(), "Olivia")
    customer = person(sandbox, new_user_id(), "Carl")
    return book_with_zoom(sandbox, owner, customer, email=email, minutes=minutes, name=name)


def orders_state(url: str) -> list[tuple[Any, ...]]:
    """What a change to an order would change."""
    sql = "SELECT id, status, version, meeting_state, meeting_id, join_url, name, start_at, duration_min"
    return query(url, sql + " FROM orders ORDER BY id")


def connections_state(url: str) -> list[tuple[Any, ...]]:
    sql = "SELECT owner_id, status, access_token_enc IS NOT NULL FROM zoom_connections ORDER BY owner_id"
    return query(url, sql)


def services_state(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT id, owner_id, name, zoom_enabled FROM services ORDER BY id")


def bot_messages_count(*users: TelegramUser) -> list[int]:
    return [len(user.bot_messages()) for user in users]
