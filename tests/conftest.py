"""Fixtures shared by every test level."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "1")  # as `python -m bot` does, before telegram is imported

import pytest  # noqa: E402

from tests.support import (
    BotProcess,
    Sandbox,
    bot_environment,
    fresh_database,
    postgres_reachable,
    start_sandbox,
)

_POSTGRES: bool | None = None


def postgres_available() -> bool:
    global _POSTGRES
    if _POSTGRES is None:
        _POSTGRES = postgres_reachable()
        if not _POSTGRES and os.environ.get("REQUIRE_POSTGRES"):
            raise RuntimeError("REQUIRE_POSTGRES is set but PostgreSQL is not reachable at TEST_POSTGRES_URL")
    return _POSTGRES


def database_kinds() -> list[str]:
    """The backends under test: BOT_TEST_DATABASE picks one; the default is SQLite."""
    return [os.environ.get("BOT_TEST_DATABASE", "sqlite")]


@pytest.fixture(params=database_kinds())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "postgresql" and not postgres_available():
        pytest.skip("PostgreSQL is not reachable at TEST_POSTGRES_URL; its tests are skipped here")
    with fresh_database(kind, tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both backends, for storage-level tests that must behave the same on each."""
    if request.param == "postgresql" and not postgres_available():
        pytest.skip("PostgreSQL is not reachable at TEST_POSTGRES_URL; its tests are skipped here")
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = start_sandbox()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def bot_settings() -> dict[str, str]:
    """Settings given to the `bot` fixture's process on top of the sandbox's; a folder's conftest shrinks
    time knobs here (see .env.example) instead of waiting for the production values."""
    return {}


@pytest.fixture
def bot(
    sandbox: Sandbox, database_url: str, tmp_path: Path, bot_settings: dict[str, str]
) -> Iterator[BotProcess]:
    """The real bot process (`python -m bot`) against the sandbox."""
    process = BotProcess.in_folder(sandbox, bot_environment(sandbox, database_url, **bot_settings), tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()
