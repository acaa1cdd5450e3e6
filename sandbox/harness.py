"""The real bot against the sandbox: both emulators on loopback, `python -m bot` as a child process.

Used by the demo, the end-to-end tests and the benchmarks.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from sandbox.server import ServedApp, free_port
from sandbox.telegram import TelegramSandbox
from sandbox.zoom import ZoomSandbox
from sandbox.zoom.control_client import ZoomControl


@dataclass(frozen=True)
class Credentials:
    """Fresh made-up credentials for one sandbox run: nothing fixed is kept in the repository."""

    bot_token: str
    zoom_client_id: str
    zoom_client_secret: str
    zoom_webhook_secret: str
    encryption_key: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls(
            bot_token=f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(30)}",
            zoom_client_id=secrets.token_urlsafe(12),
            zoom_client_secret=secrets.token_urlsafe(24),
            zoom_webhook_secret=secrets.token_urlsafe(24),
            encryption_key=Fernet.generate_key().decode(),
        )


@dataclass
class Sandbox:
    """Both emulators, served, and the address the bot's web server will use."""

    telegram: TelegramSandbox
    zoom: ZoomSandbox
    telegram_server: ServedApp
    zoom_server: ServedApp
    bot_port: int
    zoom_control: ZoomControl
    credentials: Credentials

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
    credentials = Credentials.generate()
    telegram = TelegramSandbox(credentials.bot_token)
    zoom = ZoomSandbox(
        credentials.zoom_client_id,
        credentials.zoom_client_secret,
        redirect_uri=f"{bot_url}/zoom/oauth/callback",
        webhook_secret_token=credentials.zoom_webhook_secret,
        webhook_url=f"{bot_url}/zoom/webhook",
    )
    telegram_server = ServedApp(telegram.app).start()
    zoom_server = ServedApp(zoom.app).start()
    return Sandbox(
        telegram, zoom, telegram_server, zoom_server, bot_port, ZoomControl(zoom_server.url), credentials
    )


def bot_environment(sandbox: Sandbox, database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "ZOOM_"))}
    keys = sandbox.credentials
    env.update(
        TELEGRAM_BOT_TOKEN=keys.bot_token,
        TELEGRAM_API_URL=sandbox.telegram_server.url,
        PUBLIC_URL=sandbox.bot_url,
        WEB_HOST="127.0.0.1",
        WEB_PORT=str(sandbox.bot_port),
        ZOOM_CLIENT_ID=keys.zoom_client_id,
        ZOOM_CLIENT_SECRET=keys.zoom_client_secret,
        ZOOM_WEBHOOK_SECRET_TOKEN=keys.zoom_webhook_secret,
        ZOOM_OAUTH_URL=sandbox.zoom_server.url,
        ZOOM_API_URL=f"{sandbox.zoom_server.url}/v2",
        DATABASE_URL=database_url,
        ENCRYPTION_KEY=keys.encryption_key,
        DEFAULT_TIMEZONE=os.environ.get("BOT_TEST_TIMEZONE", "Europe/Berlin"),
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

    @classmethod
    def in_folder(cls, sandbox: Sandbox, env: dict[str, str], folder: Path) -> BotProcess:
        """A bot against `sandbox` that runs in `folder` and logs to `folder/bot.log`."""
        return cls(env=env, log_path=folder / "bot.log", web_url=sandbox.bot_url, cwd=folder)

    def start(self, wait: bool = True) -> BotProcess:
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
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
