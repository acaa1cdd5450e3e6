"""Telegram webhook mode: only requests carrying the secret token are processed; a whole journey works."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.harness import bot_environment
from tests.support import probe
from tests.support.databases import query
from tests.support.journeys import (
    has_join,
    join_url,
    new_user_id,
    order,
    person,
    zoom_service,
)
from tests.support.observe import log_problems
from tests.support.worlds import World, running_world

SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    def env(sandbox: Any, url: str) -> dict[str, str]:
        return bot_environment(
            sandbox, url, TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=SECRET, LOG_LEVEL="DEBUG"
        )

    with running_world(tmp_path_factory.mktemp("telegram-webhook"), env) as running:
        yield running


def update(user_id: int, text: str, update_id: int) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Eve"}
    message = {
        "message_id": 10_000 + update_id % 10_000,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
        "from": user,
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }
    return {"update_id": update_id, "message": message}


def post(world: World, body: Any, headers: dict[str, Any]) -> httpx.Response:
    url = f"{world.sandbox.bot_url}/telegram/webhook"
    if isinstance(body, bytes):
        return httpx.post(url, content=body, headers=headers, timeout=10)
    return httpx.post(url, json=body, headers=headers, timeout=10)


def processed(world: World, update_id: int) -> bool:
    sql = "SELECT count(*) FROM processed_updates WHERE update_id = ?"
    return bool(query(world.database_url, sql, update_id)[0][0])


def test_the_bot_registers_its_webhook_with_the_secret(world: World) -> None:
    webhook = world.telegram.webhook()
    assert webhook["info"]["url"] == f"{world.sandbox.bot_url}/telegram/webhook"
    assert webhook["secret_token"] == SECRET


def test_a_whole_journey_runs_in_webhook_mode(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    customer = person(world.sandbox, new_user_id(), "Carl")
    shop = zoom_service(world.sandbox, owner, 30, "Webhook call")
    placed = order(customer, shop.code, day_index=1, name="Via webhook")
    assert "Via webhook" in placed.text
    mine = customer.wait_for(has_join, timeout=15, description="the customer's Join button")
    theirs = owner.wait_for(has_join, timeout=15, description="the owner's Join button")
    assert join_url(mine) == join_url(theirs)
    attempts = world.telegram.webhook()["attempts"]
    assert attempts and all(attempt["error"] is None for attempt in attempts)
    assert world.telegram.calls("getUpdates") == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Telegram-Bot-Api-Secret-Token": ""},
        {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET.swapcase()},
        {"X-Telegram-Bot-Api-Secret-Token": (SECRET[:-1] + "\xe9").encode("latin-1")},
        {"Authorization": f"Bearer {SECRET}"},
    ],
    ids=["none", "empty", "wrong", "prefix", "longer", "case", "latin-1", "other-header"],
)
def test_an_update_without_the_right_secret_is_refused_and_not_processed(
    world: World, headers: dict[str, Any]
) -> None:
    user = person(world.sandbox, new_user_id(), "Eve")
    user.send("/help")
    user.wait_for_text("/newservice")
    before = len(user.bot_messages())
    update_id = 900_000_000 + new_user_id()
    answer = post(world, update(user.user_id, "/start", update_id), headers)
    assert answer.status_code == 403
    answered = probe(user)  # handled after anything earlier from this chat
    others = [m for m in user.bot_messages() if m.message_id != answered.message_id]
    assert len(others) == before and not processed(world, update_id)


def test_the_same_update_with_the_secret_is_processed_once(world: World) -> None:
    user = person(world.sandbox, new_user_id(), "Eve")
    user.send("/help")
    user.wait_for_text("/newservice")
    before = len(user.bot_messages())
    update_id = 900_000_000 + new_user_id()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert post(world, update(user.user_id, "/start", update_id), headers).status_code == 200
    assert post(world, update(user.user_id, "/start", update_id), headers).status_code == 200
    user.wait_for(lambda m: "Hi Eve" in m.text and len(user.bot_messages()) > before)
    answered = probe(user)  # handled after both copies of the update
    others = [m for m in user.bot_messages() if m.message_id != answered.message_id]
    assert len(others) == before + 1 and processed(world, update_id)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"\xff\xfe", 400),
        (b"{}", 400),
        (b'{"update_id": 1, "message": ' + b'"x' * 600_000 + b'"}', 413),
    ],
    ids=["text", "binary", "no-update-id", "huge"],
)
def test_the_right_secret_with_a_broken_body_is_a_client_error(
    world: World, body: bytes, status: int
) -> None:
    mark = len(world.log())
    answer = post(
        world, body, {"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"}
    )
    assert answer.status_code == status
    assert not log_problems(world.log()[mark:])


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


def test_other_methods_are_not_served(world: World) -> None:
    assert httpx.get(f"{world.sandbox.bot_url}/telegram/webhook").status_code == 405


def test_neither_the_webhook_secret_nor_the_bot_token_is_logged(world: World) -> None:
    log = world.log()
    assert "DEBUG" in log  # the bot did log at DEBUG level
    token = world.sandbox.credentials.bot_token
    for secret in (SECRET, token, token.split(":", 1)[1]):
        assert secret not in log
    assert not log_problems(log)
    assert httpx.get(f"{world.sandbox.bot_url}/healthz").status_code == 200
