"""Test support: the sandbox emulators served on loopback, databases, and the bot as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sandbox.server import ServedApp, free_port
from sandbox.telegram import TelegramSandbox
from sandbox.zoom import ZoomSandbox
from sandbox.zoom_client import ZoomControl

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "7000000001:AAHsandboxTokenForTestsOnly0123456789abc"
ZOOM_CLIENT_ID = "sandboxClientId123"
ZOOM_CLIENT_SECRET = "sandbox-client-secret-0123456789"
ZOOM_WEBHOOK_SECRET = "sandbox-webhook-secret-token-42"
ENCRYPTION_KEY = "n0vRkS8xQe0mJ9K2w6bTqXyZ1aB3cD5eF7gH9iJ0kLM="
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A new empty database: a SQLite file in `folder`, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bot.db'}"
        return
    import asyncpg

    name = f"bot_test_{uuid.uuid4().hex[:12]}"
    admin = _asyncpg_dsn(POSTGRES_URL)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Sandbox:
    """Both emulators, served, and the address the bot's web server will use."""

    telegram: TelegramSandbox
    zoom: ZoomSandbox
    telegram_server: ServedApp
    zoom_server: ServedApp
    bot_port: int
    zoom_control: ZoomControl

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    def stop(self) -> None:
        self.zoom_control.close()
        self.telegram_server.stop()
        self.zoom_server.stop()


def start_sandbox() -> Sandbox:
    bot_port = free_port()
    bot_url = f"http://127.0.0.1:{bot_port}"
    telegram = TelegramSandbox(BOT_TOKEN)
    zoom = ZoomSandbox(
        ZOOM_CLIENT_ID,
        ZOOM_CLIENT_SECRET,
        redirect_uri=f"{bot_url}/zoom/oauth/callback",
        webhook_secret_token=ZOOM_WEBHOOK_SECRET,
        webhook_url=f"{bot_url}/zoom/webhook",
    )
    telegram_server = ServedApp(telegram.app).start()
    zoom_server = ServedApp(zoom.app).start()
    return Sandbox(telegram, zoom, telegram_server, zoom_server, bot_port, ZoomControl(zoom_server.url))


def bot_environment(sandbox: Sandbox, database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "ZOOM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_URL=sandbox.telegram_server.url,
        PUBLIC_URL=sandbox.bot_url,
        WEB_HOST="127.0.0.1",
        WEB_PORT=str(sandbox.bot_port),
        ZOOM_CLIENT_ID=ZOOM_CLIENT_ID,
        ZOOM_CLIENT_SECRET=ZOOM_CLIENT_SECRET,
        ZOOM_WEBHOOK_SECRET_TOKEN=ZOOM_WEBHOOK_SECRET,
        ZOOM_OAUTH_URL=sandbox.zoom_server.url,
        ZOOM_API_URL=f"{sandbox.zoom_server.url}/v2",
        DATABASE_URL=database_url,
        ENCRYPTION_KEY=ENCRYPTION_KEY,
        DEFAULT_TIMEZONE="Europe/Berlin",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class BotProcess:
    """`python -m bot` as a child process, with its output kept in a file."""

    env: dict[str, str]
    log_path: Path
    web_url: str
    cwd: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    def start(self, wait: bool = True) -> BotProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.starts += 1
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.web_url}/healthz", timeout=1).status_code == 200:
                    time.sleep(0.3)  # let polling start
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the bot did not become healthy:\n{self.logs()}")

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
