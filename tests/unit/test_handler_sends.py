"""Messages the handlers send and never read again go out inside `unparsed` (PTB is spared parsing the
message Telegram answers with), with the text and keyboard they had before."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from telegram import Bot, Update
from telegram.request import BaseRequest, RequestData

from bot.domain import Service
from bot.errors import UserError
from bot.services.ordering import Summary
from bot.telegram import requests
from handlers import common, ordering
from handlers.deps import KEY, Deps
from tests.support.bot_api import SENT

USER = {"id": 42, "is_bot": False, "first_name": "Ann", "language_code": "en"}
MESSAGE = {"message_id": 3, "date": 1_700_000_000, "chat": SENT["chat"], "from": USER, "text": "hi"}
SERVICE = Service(7, "abc", 1, "Talk", 45, "UTC", False)
SUMMARY = Summary(SERVICE, datetime(2030, 1, 2, tzinfo=UTC), "N", False, "nc")


class Recorded(BaseRequest):
    """Answers every call with a sent message and records each call's method, values and whether it was
    made inside `unparsed`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], bool]] = []

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: object, **kwargs: object
    ) -> tuple[int, bytes]:
        values = request_data.parameters if request_data is not None else {}
        # The context variable `unparsed` sets is what CountedRequest reads to keep the answer unparsed.
        self.calls.append((url.rsplit("/", 1)[-1], dict(values), requests._unparsed.get() is not None))
        return 200, json.dumps({"ok": True, "result": SENT}).encode()


@pytest.fixture
async def bot() -> AsyncIterator[tuple[Bot, Recorded]]:
    request = Recorded()
    yield Bot("1:TOKEN", request=request, get_updates_request=request), request


def update(bot: Bot, **fields: object) -> Update:
    return Update.de_json({"update_id": 1, **fields}, bot)


class Ordering:
    async def name(self, *args: object) -> Summary:
        return SUMMARY

    async def summary_text(self, summary: Summary) -> str:
        return "the summary"


def context_with(ordering_service: object, error: Exception | None = None) -> Any:
    wired = Deps(**{field.name: None for field in dataclasses.fields(Deps)})
    wired = dataclasses.replace(wired, ordering=cast(Any, ordering_service))
    return SimpleNamespace(application=SimpleNamespace(bot_data={KEY: wired}), error=error, args=[])


async def test_replies_summaries_and_errors_are_sent_unparsed(bot: tuple[Bot, Recorded]) -> None:
    made, recorded = bot
    message = update(made, message=MESSAGE)
    await common.help_command(message, context_with(None))
    await common.unknown_command(message, context_with(None))
    await common.on_error(message, context_with(None, UserError("Nope <b>")))
    await ordering.name_typed(message, context_with(Ordering()), cast(Any, None), "N")
    await common.group_message(update(made, message=MESSAGE), context_with(None))
    await common.edited(update(made, edited_message=MESSAGE), context_with(None))
    assert [(method, unparsed) for method, _values, unparsed in recorded.calls] == [("sendMessage", True)] * 6
    texts = [values["text"] for _method, values, _unparsed in recorded.calls]
    assert texts[2] == "Nope <b>" and texts[3] == "the summary"
    keyboard = recorded.calls[3][1]["reply_markup"]
    assert [[button["callback_data"] for button in row] for row in keyboard["inline_keyboard"]] == [
        ["ok:nc", "ox:nc"]
    ]
