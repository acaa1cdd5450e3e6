"""The Telegram emulator served on loopback and the real PTB client talking to it: the sandbox's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot

from sandbox.server import ServedApp
from sandbox.telegram import TelegramSandbox
from sandbox.telegram.client import TelegramControl
from tests.support.emulator import TOKEN, Served


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns on int time periods (RetryAfter.retry_after) unless this opt-in is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
def served() -> Iterator[Served]:
    sandbox = TelegramSandbox(TOKEN)
    with ServedApp(sandbox.app) as server, TelegramControl(server.url) as control:
        yield Served(sandbox, server.url, control)


@pytest.fixture
async def bot(served: Served) -> AsyncIterator[Bot]:
    """PTB's Bot against the emulator (files downloaded from it too)."""
    async with Bot(TOKEN, base_url=f"{served.url}/bot", base_file_url=f"{served.url}/file/bot") as client:
        yield client
