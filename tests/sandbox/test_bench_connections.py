"""The benchmark's customers talk to the Telegram emulator over kept http.client connections
(bench/customers.py `KeptConnection`): the same calls and answers as through httpx, one connection each."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot

from bench.customers import KeptConnection, TransportError
from sandbox.telegram.client import TelegramUser
from tests.support.emulator import ANN, Served


async def test_a_person_on_a_kept_connection_sends_reads_and_waits_as_through_httpx(
    served: Served, bot: Bot
) -> None:
    connection = KeptConnection(timeout=10)
    try:
        await a_conversation_over(connection, served, bot)
    finally:
        connection.close()


async def a_conversation_over(connection: KeptConnection, served: Served, bot: Bot) -> None:
    ann = TelegramUser(served.url, ANN, "Ann", "ann", http=connection)
    ann.send("/start")
    await bot.send_message(ANN, "hello", reply_markup=None)
    messages, seq = await asyncio.to_thread(ann.changes_after, 0, 5)
    assert [m.text for m in messages] == ["/start", "hello"]
    kept = connection._connection
    unchanged, same = await asyncio.to_thread(ann.changes_after, seq, 0.2)  # waits, then answers as it is
    assert [m.text for m in unchanged] == ["/start", "hello"] and same == seq
    assert connection._connection is kept, "the requests went over one kept connection"
    refused = connection.request("GET", f"{served.url}/sandbox/chats/ann")  # the emulator's error answer
    assert refused.is_error and refused.status_code == 404
    assert refused.json() == {"error": "chat ids are integers"} and "integers" in refused.text
    connection.close()  # a closed (or broken) connection is opened anew for the next request
    assert [m.text for m in (await asyncio.to_thread(ann.changes_after, 0, 0))[0]] == ["/start", "hello"]


def test_a_request_that_cannot_reach_the_emulator_is_a_transport_error() -> None:
    connection = KeptConnection(timeout=2)
    with pytest.raises(TransportError):
        connection.request("GET", "http://127.0.0.1:9/sandbox/chats/1")  # the discard port: refused
