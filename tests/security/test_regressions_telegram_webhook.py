"""Regression: Telegram webhook bodies of the wrong shape get a 400, never a crash."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.harness import bot_environment
from tests.security.support import World, log_problems, running_world

SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    def env(sandbox: Any, url: str) -> dict[str, str]:
        return bot_environment(sandbox, url, TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=SECRET)

    with running_world(tmp_path_factory.mktemp("regressions-tg"), env) as running:
        yield running


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"x"',
        b"1",
        b'{"update_id": "x"}',
        b'{"update_id": 1, "message": "x"}',
        b'{"update_id": 123456789012345678901234567890}',
    ],
)
def test_a_broken_update_with_the_right_secret_is_a_400(world: World, body: bytes) -> None:
    mark = len(world.log())
    answer = httpx.post(
        f"{world.sandbox.bot_url}/telegram/webhook",
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert not log_problems(world.log()[mark:])
