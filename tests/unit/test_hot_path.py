"""Work the bot must not repeat for every update or request (found with a profiler, see bench/README.md)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

import httpx
import pytest


class ImportSpy(MetaPathFinder):
    """Records every module name the import system is asked to find (it finds none itself)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.names.append(fullname)
        return None


@pytest.fixture
def import_spy() -> Iterator[ImportSpy]:
    spy = ImportSpy()
    sys.meta_path.insert(0, spy)
    try:
        yield spy
    finally:
        sys.meta_path.remove(spy)


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readline() not in (b"\r\n", b""):
        continue
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
    await writer.drain()
    writer.close()


async def test_an_http_request_searches_for_no_module(import_spy: ImportSpy) -> None:
    """httpx (the Telegram and Zoom calls) must find the event loop without a failed import per request."""
    server = await asyncio.start_server(answer_ok, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient() as client:
        first = await client.get(f"http://127.0.0.1:{port}/")  # lazy imports of a first request are fine
        import_spy.names.clear()
        again = [await client.get(f"http://127.0.0.1:{port}/") for _ in range(3)]
    assert first.text == "ok" and all(response.text == "ok" for response in again)
    assert import_spy.names == []


PRESS = {
    "update_id": 5,
    "callback_query": {
        "id": "99",
        "from": {"id": 101, "is_bot": False, "first_name": "Carl"},
        "chat_instance": "1",
        "data": "ot|svc|202612011030",
        "message": {
            "message_id": 7,
            "date": 1700000000,
            "chat": {"id": 101, "type": "private", "first_name": "Carl"},
            "text": "Pick a time",
            "entities": [{"type": "bold", "offset": 0, "length": 4}],
            "reply_markup": {
                "inline_keyboard": [[{"text": "10:30", "callback_data": "ot|svc|202612011030"}]]
            },
        },
    },
}


def test_a_press_is_parsed_and_stored_without_the_keyboard_of_the_pressed_message() -> None:
    """Telegram sends the pressed message whole with each press; its keyboard was most of the CPU of parsing
    and storing the update, and no handler reads it (nor the text's formatting)."""
    from telegram import Bot, Update

    from bot.telegram.intake import without_unread

    slim = without_unread(PRESS)
    message = slim["callback_query"]["message"]
    assert "reply_markup" not in message and "entities" not in message
    assert PRESS["callback_query"]["message"]["reply_markup"], "the fetched JSON is left as it was"
    update = Update.de_json(slim, Bot("1:token"))
    query = update.callback_query
    assert query is not None and query.message is not None
    assert (query.data, query.message.chat.id, query.message.message_id) == ("ot|svc|202612011030", 101, 7)
    typed = {"update_id": 6, "message": {"message_id": 8, "date": 1, "chat": {"id": 1, "type": "private"}}}
    assert without_unread(typed) is typed
