"""Fixtures shared by every test level."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "1")  # as `python -m bot` does, before telegram is imported

import pytest  # noqa: E402

from tests.support import (
    TEST_KNOBS,
    BotInProcess,
    BotProcess,
    Sandbox,
    bot_environment,
    database_kinds,
    fresh_database,
    migrated_template,
    postgres_available,
    start_sandbox,
)
from tests.support.worlds import World, running_world


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Per backend (made on first use, once per session and xdist worker): a database at the newest
    migration that the `bot` fixture's databases are copied from."""
    templates: dict[str, str] = {}
    with contextlib.ExitStack() as stack:

        def template(kind: str) -> str:
            if kind not in templates:
                folder = tmp_path_factory.mktemp(f"template-{kind}")
                templates[kind] = stack.enter_context(migrated_template(kind, folder))
            return templates[kind]

        yield template


@pytest.fixture(params=database_kinds())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: empty, or for a test with the `bot` fixture a copy of the migrated template (the
    bot's start-up runs `migrate`, which then finds nothing to do)."""
    kind = request.param
    if kind == "postgresql" and not postgres_available():
        pytest.skip("PostgreSQL is not reachable at TEST_POSTGRES_URL; its tests are skipped here")
    template = request.getfixturevalue("database_template")(kind) if "bot" in request.fixturenames else None
    with fresh_database(kind, tmp_path, template=template) as url:
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


# Tests that wait on the real clock for half a minute or more (reminders come at real instants) start first,
# so that under pytest-xdist the short tests fill the other workers meanwhile instead of these ending the run.
LONG_FIRST = (
    "tests/e2e/test_reminders.py::",
    "tests/faults/test_reminder_restarts.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))  # stable: the rest keep their order


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bot_process: the `bot` fixture runs `python -m bot` as a child process (kill -9, signals, restarts)"
        " instead of the same composition root inside the test process",
    )
    config.addinivalue_line(
        "markers", "bot_env(**settings): extra environment settings for the `bot` fixture"
    )


@pytest.fixture(scope="module")
def shared_bot_settings() -> dict[str, str]:
    """Settings of `shared_world`'s bot on top of the sandbox's and TEST_KNOBS (`bot_settings` for `bot`)."""
    return {}


@pytest.fixture(scope="module")
def shared_world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shared_bot_settings: dict[str, str],
) -> Iterator[World]:
    """One sandbox, database and bot (in process) for all the tests of a module: for tests that use fresh
    users (`tests.support.journeys.someone`, `new_user_id`), so they do not see each other."""
    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])

    def environment(sandbox: Sandbox, url: str) -> dict[str, str]:
        return bot_environment(sandbox, url, **shared_bot_settings)

    with running_world(folder, environment) as running:
        yield running


@pytest.fixture
def bot_settings() -> dict[str, str]:
    """Settings given to the `bot` fixture on top of the sandbox's and TEST_KNOBS; a folder's conftest shrinks
    time knobs here (see .env.example) instead of waiting for the production values."""
    return {}


@pytest.fixture
def bot(
    request: pytest.FixtureRequest,
    sandbox: Sandbox,
    database_url: str,
    tmp_path: Path,
    bot_settings: dict[str, str],
) -> Iterator[BotProcess | BotInProcess]:
    """The real bot against the sandbox: its composition root run inside the test process, or with the
    `bot_process` marker the real `python -m bot` process. `bot_env(NAME="value")` markers add settings."""
    extra: dict[str, str] = {**TEST_KNOBS, **bot_settings}
    for marker in reversed(list(request.node.iter_markers("bot_env"))):
        extra.update(marker.kwargs)
    env = bot_environment(sandbox, database_url, **extra)
    kind = BotProcess if request.node.get_closest_marker("bot_process") else BotInProcess
    running = kind.in_folder(sandbox, env, tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()
