"""Regressions: absurd timestamps and wrongly shaped signed Zoom bodies are answered without a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox.zoom.webhooks import sign
from tests.security.support import World, log_problems, running_world, settle


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("findings")) as running:
        yield running


@pytest.mark.parametrize("timestamp", ["²", "1" + "0" * 400, "9" * 5000])
def test_an_unsigned_request_with_an_absurd_timestamp_is_a_401_not_a_crash(
    world: World, timestamp: str
) -> None:
    mark = len(world.log())
    answer = httpx.post(
        f"{world.sandbox.bot_url}/zoom/webhook",
        content=b"{}",
        headers={"x-zm-request-timestamp": timestamp.encode("latin-1"), "x-zm-signature": "v0=00"},
    )
    assert answer.status_code == 401
    assert not log_problems(world.log()[mark:])


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": "meeting.deleted", "payload": "x"}',
        b'{"event": "meeting.deleted", "payload": {"object": "x"}}',
        b'{"event": "endpoint.url_validation", "payload": ["x"]}',
        b'{"event": "meeting.deleted", "payload": {"object": {"id": 123456789012345678901234567890}}}',
        b'{"event": "app_deauthorized", "payload": []}',
    ],
)
def test_a_signed_body_of_the_wrong_shape_is_answered_without_a_crash(world: World, body: bytes) -> None:
    mark = len(world.log())
    headers = sign(world.sandbox.credentials.zoom_webhook_secret, body, int(time.time()))
    answer = httpx.post(f"{world.sandbox.bot_url}/zoom/webhook", content=body, headers=headers)
    assert answer.status_code in (200, 400)
    settle(0.8)
    assert not log_problems(world.log()[mark:])
