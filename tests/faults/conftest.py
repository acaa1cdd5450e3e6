"""Fixtures of the fault tests: the Telegram sandbox's control client and the `soak` marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.harness import BotInProcess, BotProcess, Sandbox
from sandbox.telegram.client import TelegramControl
from tests.support.journeys import Shop, person, zoom_service


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "soak: a long test under random faults; runs only with RUN_SOAK=1 (bench and CI scripts)"
    )


# Retries and Zoom's timeout shrunk, so the tests do not wait for the production values (2 s doubling, 15 s):
# the order of events they assert stays the same, only faster.
FAULT_KNOBS = {
    "JOB_BACKOFF_BASE_SECONDS": "0.25",
    "ZOOM_TIMEOUT_SECONDS": "3",
    "ZOOM_CREATE_SETTLE_SECONDS": "10",  # longer than the slowest create the tests arm lasts past 3 s
}


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return dict(FAULT_KNOBS)


@pytest.fixture(scope="module")
def shared_bot_settings() -> dict[str, str]:
    return dict(FAULT_KNOBS)


@pytest.fixture
def telegram(sandbox: Sandbox) -> Iterator[TelegramControl]:
    """Faults and the call log of the Telegram emulator."""
    with TelegramControl(sandbox.telegram_server.url) as control:
        yield control


@pytest.fixture
def shop(sandbox: Sandbox, bot: BotProcess | BotInProcess) -> Shop:
    """Olivia (user 11) with a 30-minute Tutoring service and Zoom connected, the bot running."""
    owner = person(sandbox, 11, "Olivia")
    created = zoom_service(sandbox, owner, 30, "Tutoring")
    return created
