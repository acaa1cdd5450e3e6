"""The real bot against the sandbox: both emulators on loopback, and the bot either as a child process
(`python -m bot`, `BotProcess`) or as the same composition root run in this process on its own event loop
(`BotInProcess`), both with one interface.

Used by the demo, the end-to-end tests and the benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

import httpx
from cryptography.fernet import Fernet

from sandbox.server import ServedApp, free_port
from sandbox.telegram import TelegramSandbox
from sandbox.zoom import ZoomSandbox
from sandbox.zoom.control_client import ZoomControl

if TYPE_CHECKING:
    from bot.app import Runtime


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


PollCount = tuple[Callable[[], int], int]  # the emulator's getUpdates count, and its value at the start


class _Running(Protocol):
    web_url: str

    @property
    def returncode(self) -> int | None: ...

    def logs(self) -> str: ...


def wait_healthy(bot: _Running, timeout: float = 30, polls: PollCount | None = None) -> None:
    """Until the bot answers /healthz and, in polling mode (`polls`: the getUpdates calls the Telegram
    emulator has seen, and how many it had seen before this start), has made its first getUpdates call since
    it started; fails if it stopped meanwhile."""
    deadline = time.monotonic() + timeout
    healthy = False
    while time.monotonic() < deadline:
        if bot.returncode is not None:
            raise AssertionError(f"the bot stopped with {bot.returncode}:\n{bot.logs()}")
        if not healthy:
            try:
                healthy = httpx.get(f"{bot.web_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                pass
        if healthy and (polls is None or polls[0]() > polls[1]):
            return
        time.sleep(0.05)
    if healthy:
        raise AssertionError(f"the bot answers /healthz but never polled Telegram:\n{bot.logs()}")
    raise AssertionError(f"the bot did not become healthy:\n{bot.logs()}")


def poll_counter(sandbox: Sandbox, env: dict[str, str]) -> Callable[[], int] | None:
    """How many getUpdates calls the sandbox's Telegram has seen, for a bot that polls it (None in webhook
    mode, for a bot pointed at another Telegram, or when the emulators run in another process)."""
    telegram = getattr(sandbox, "telegram", None)  # None: the emulators run in another process (bench)
    if (
        telegram is None
        or env.get("TELEGRAM_MODE", "polling") != "polling"
        or env.get("TELEGRAM_API_URL") != sandbox.telegram_server.url
    ):
        return None
    counter: Callable[[], int] = telegram.state.updates.polls_started
    return counter


@dataclass
class _Bot(ABC):
    """What both ways of running the bot share: its settings, log file, address and folder, how often it was
    started, and the barrier that it is up (`wait_healthy`)."""

    env: dict[str, str]
    log_path: Path
    web_url: str
    cwd: Path
    starts: int = field(default=0)
    polls: Callable[[], int] | None = None  # the emulator's getUpdates count: started means polling
    _polls_before: PollCount | None = None

    @classmethod
    def in_folder(cls, sandbox: Sandbox, env: dict[str, str], folder: Path) -> Self:
        """A bot against `sandbox` that runs in `folder` and logs to `folder/bot.log`."""
        polls = poll_counter(sandbox, env)
        return cls(env=env, log_path=folder / "bot.log", web_url=sandbox.bot_url, cwd=folder, polls=polls)

    def _starting(self) -> None:
        """Note how many polls Telegram has seen, so `wait_healthy` waits for one of this start's."""
        self._polls_before = None if self.polls is None else (self.polls, self.polls())

    @property
    @abstractmethod
    def returncode(self) -> int | None:
        """The exit code once the bot has stopped, else None."""
        ...

    def wait_healthy(self, timeout: float = 30) -> None:
        wait_healthy(self, timeout, self._polls_before)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class BotProcess(_Bot):
    """`python -m bot` as a child process, with its output kept in a file."""

    process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> BotProcess:
        self._starting()
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

    @property
    def returncode(self) -> int | None:
        """The exit code once the bot has stopped, else None."""
        return self.process.poll() if self.process is not None else None

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


class _ThreadRun:
    """What `BotInProcess.process` offers of a `Popen`: `poll()` is None while the bot runs."""

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return None if self.thread.is_alive() else self.returncode


class _BotThreadOnly(logging.Filter):
    """Only records written on the bot's thread (not the emulators' or the test's)."""

    def __init__(self, thread: threading.Thread) -> None:
        super().__init__()
        self._thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self._thread.ident


@dataclass
class BotInProcess(_Bot):
    """The bot's composition root (`bot.app.build` + `serve`, as `python -m bot` runs them) inside this
    process: on its own event loop in a thread, settings from `env` alone, log lines in `log_path`.

    The same interface as `BotProcess` except `kill()`: a test that needs a real process uses that.
    """

    process: _ThreadRun | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _runtime: Runtime | None = None
    _handler: logging.Handler | None = None
    _root_level: int = logging.WARNING

    def start(self, wait: bool = True) -> BotInProcess:
        from bot.app import build
        from bot.logs import log_handler
        from bot.settings import load_settings

        self._starting()
        settings = load_settings(environ=self.env)
        runtime = build(settings)
        self._runtime = runtime
        ready = threading.Event()
        thread = threading.Thread(
            target=lambda: self._run(runtime, run, ready), name="bot-in-process", daemon=True
        )
        run = self.process = _ThreadRun(thread)
        stream = self.log_path.open("a", encoding="utf-8")
        handler = log_handler(settings, stream=stream)
        handler.addFilter(_BotThreadOnly(thread))
        handler.setLevel(settings.log_level)
        root = logging.getLogger()
        root.addHandler(handler)
        self._root_level = root.level
        if root.getEffectiveLevel() > logging.getLevelName(settings.log_level):
            root.setLevel(settings.log_level)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # as `configure_logging` does
        logging.getLogger("httpcore").setLevel(logging.WARNING)
        self._handler = handler
        thread.start()
        ready.wait(10)
        self.starts += 1
        if wait:
            self.wait_healthy()
        return self

    def _run(self, runtime: Runtime, run: _ThreadRun, ready: threading.Event) -> None:
        from bot.app import serve

        loop = asyncio.new_event_loop()
        self._loop = loop
        ready.set()
        try:
            loop.run_until_complete(serve(runtime))
            run.returncode = 0
        except (Exception, SystemExit) as exc:  # uvicorn exits when it cannot bind its port
            # As `python -m bot` does: one critical line; the process would end and close its connections.
            logging.getLogger("bot").critical("The bot stopped: %s", type(exc).__name__, exc_info=True)
            run.returncode = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 1
            loop.run_until_complete(self._close(runtime))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @staticmethod
    async def _close(runtime: Runtime) -> None:
        """What the end of the process would close: its HTTP client and database connections."""
        with contextlib.suppress(Exception):
            await runtime.application.shutdown()
        await runtime.http.aclose()
        await runtime.engine.dispose()
        if runtime.lock_engine is not None:
            await runtime.lock_engine.dispose()

    @property
    def returncode(self) -> int | None:
        """The exit code once the bot has stopped, else None."""
        return self.process.poll() if self.process is not None else None

    def stop(self) -> int | None:
        run, loop, runtime = self.process, self._loop, self._runtime
        if run is None:
            return None
        deadline = time.monotonic() + 30
        while run.thread.is_alive() and loop is not None and runtime is not None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not stop within 30 s:\n{self.logs()}")
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(runtime.request_stop)  # again, if it came before the web server
            run.thread.join(timeout=0.2)
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            logging.getLogger().setLevel(self._root_level)
            self._handler.close()
            stream = getattr(self._handler, "stream", None)
            if stream is not None:
                stream.close()
            self._handler = None
        return run.returncode

    def logs(self) -> str:
        if self._handler is not None:
            self._handler.flush()
        return super().logs()
