"""The yardstick: a bare PTB echo bot (bench/echo_bot.py) answering as many texts on the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.customers import Pace, own_connections, wait_for
from bench.procstat import cpu_seconds, peak_rss_kib
from bench.remote_sandbox import start_remote_sandbox
from sandbox.telegram.client import SentMessage, TelegramControl, TelegramUser

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class EchoFigures:
    updates: int
    cpu_seconds: float
    seconds: float
    peak_rss_kib: int

    @property
    def updates_per_cpu_second(self) -> float:
        return self.updates / self.cpu_seconds if self.cpu_seconds else float("inf")


def measure_echo(updates: int, parallel: int, pace: Pace) -> EchoFigures:
    """`parallel` people send `updates` texts in all, each waiting for the echo before the next."""
    sandbox = start_remote_sandbox()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    env.update(
        TELEGRAM_BOT_TOKEN=sandbox.credentials.bot_token,
        TELEGRAM_API_URL=sandbox.telegram_server.url,
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.echo_bot"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with TelegramControl(sandbox.telegram_server.url) as control:
            _wait_polling(control, process)
        url = sandbox.telegram_server.url
        with own_connections(parallel) as connections:
            people = [TelegramUser(url, 50_000 + i, f"Echo{i}", http=connections[i]) for i in range(parallel)]
            shares = [updates // parallel + (1 if i < updates % parallel else 0) for i in range(parallel)]

            def talk(index: int) -> None:
                for turn in range(shares[index]):
                    text = f"echo {index} {turn}"
                    people[index].send(text)
                    wait_for(people[index], pace, _is(text), "echo")

            cpu_before, started = cpu_seconds(process.pid), time.monotonic()
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                list(pool.map(talk, range(parallel)))
            return EchoFigures(
                updates=updates,
                cpu_seconds=cpu_seconds(process.pid) - cpu_before,
                seconds=time.monotonic() - started,
                peak_rss_kib=peak_rss_kib(process.pid),
            )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sandbox.stop()


def _is(text: str) -> Callable[[SentMessage], bool]:
    return lambda message: message.text == text


def _wait_polling(control: TelegramControl, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not control.calls("getUpdates"):
        if process.poll() is not None:
            raise SystemExit(f"bench.echo_bot exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit("bench.echo_bot did not start polling")
        time.sleep(0.1)
