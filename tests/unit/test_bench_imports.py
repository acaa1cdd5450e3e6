"""The benchmarks import what they use from the product and the test support."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH_MODULES = [
    "bench.orders",
    "bench.limits",
    "bench.customers",
    "bench.soak",
    "bench.store",
    "bench.echo",
    "bench.echo_bot",
    "bench.calendar_feed",
    "bench.profiling",
    "bench.procstat",
    "bench.remote_sandbox",
]


@pytest.mark.parametrize("name", BENCH_MODULES)
def test_each_benchmark_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_a_bot_against_emulators_in_another_process_waits_for_health_only(tmp_path: Path) -> None:
    """The benchmark's emulators run in a process of their own (bench/remote_sandbox.py): the harness cannot
    count their polls, so the bot it starts there waits for /healthz alone instead of failing."""
    from bench.remote_sandbox import RemoteSandbox, Served
    from sandbox.harness import BotProcess

    telegram = Served("http://127.0.0.1:1")
    remote = RemoteSandbox.__new__(RemoteSandbox)
    remote.telegram_server = telegram
    remote.bot_port = 2
    bot = BotProcess.in_folder(remote, {"TELEGRAM_API_URL": telegram.url}, tmp_path)  # type: ignore[arg-type]
    assert bot.polls is None
