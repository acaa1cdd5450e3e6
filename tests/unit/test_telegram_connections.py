"""The Bot API's keep-alive connections (bot/telegram/connections.py) against tiny servers served for real."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import math
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import RequestData

from bot.metrics import Metrics
from bot.telegram.connections import AnswerLost, KeepAlivePool, answer_arrived
from bot.telegram.requests import CONNECTIONS, CountedRequest, OutcomeUnknown, unparsed
from tests.support.bot_api import SENT
from tests.support.waiting import eventually_async

OK = json.dumps({"ok": True, "result": True}).encode()


class Server:
    """An HTTP/1.1 server on loopback: counts connections, keeps each request, answers as `answer` says."""

    def __init__(self, answer: Callable[[Server, bytes, asyncio.StreamWriter], Awaitable[bool]]) -> None:
        self.answer = answer
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.kinds: list[str] = []  # each request's Content-Type
        self.release = asyncio.Event()
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                size = next(
                    int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")
                )
                body = await reader.readexactly(size)
                kind = next(
                    (line.split(":")[1].strip() for line in lines if line.lower().startswith("content-type")),
                    "",
                )
                self.kinds.append(kind)
                if kind == "application/json":
                    fields = {name: [value] for name, value in json.loads(body).items()}
                else:  # a form (httpx's calls)
                    fields = parse_qs(body.decode())
                self.requests.append((lines[0].split(" ")[1], fields))
                if not await self.answer(self, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


@asynccontextmanager
async def serving(
    answer: Callable[[Server, bytes, asyncio.StreamWriter], Awaitable[bool]],
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Server]:
    server = Server(answer)
    listening = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
    scheme = "https" if tls is not None else "http"
    server.url = f"{scheme}://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    async with listening:
        yield server


async def keep_alive(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(OK), OK)
    )
    return True


async def chunked(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for part in (OK[:7], OK[7:]):
        writer.write(b"%x\r\n%s\r\n" % (len(part), part))
    writer.write(b"0\r\n\r\n")
    return True


async def then_close(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(OK), OK))
    return False


async def held(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
    await server.release.wait()
    return await keep_alive(server, body, writer)


def pool(server: Server, size: int = 4) -> KeepAlivePool:
    return KeepAlivePool(server.url, size, None, "test")


async def post(
    connections: KeepAlivePool, text: str, read: float | None = 5, wait: float | None = 5
) -> bytes:
    status, body = await connections.post("/botTOKEN/sendMessage", {"text": text}, 5, 5, read, wait)
    assert status == 200
    return body


async def test_requests_share_one_connection_and_arrive_as_a_json_object_of_their_values() -> None:
    """The Bot API takes a JSON body like a form (structured values as JSON text, as PTB gives them), and
    encoding one costs far less than percent-encoding a form."""
    async with serving(keep_alive) as server:
        connections = pool(server)
        answers = [await post(connections, text) for text in ("a&b=c", 'Zoë "😀"', "three")]
        connections.close()
    assert answers == [OK] * 3
    assert server.connections == 1
    assert server.requests == [
        ("/botTOKEN/sendMessage", {"text": ["a&b=c"]}),
        ("/botTOKEN/sendMessage", {"text": ['Zoë "😀"']}),
        ("/botTOKEN/sendMessage", {"text": ["three"]}),
    ]
    assert server.kinds == ["application/json"] * 3


async def test_a_chunked_answer_is_read_whole_and_the_connection_kept() -> None:
    async with serving(chunked) as server:
        connections = pool(server)
        assert [await post(connections, "x"), await post(connections, "y")] == [OK, OK]
        connections.close()
    assert server.connections == 1


async def test_a_connection_the_server_closes_is_not_used_again() -> None:
    async with serving(then_close) as server:
        connections = pool(server)
        assert [await post(connections, str(n)) for n in range(3)] == [OK] * 3
    assert server.connections == 3


async def test_at_most_size_connections_and_the_others_wait_their_turn() -> None:
    async with serving(held) as server:
        connections = pool(server, size=2)
        sending = [asyncio.create_task(post(connections, str(n))) for n in range(6)]
        await eventually_async(lambda: len(server.requests) == 2, 10, "two requests in")
        server.release.set()
        assert await asyncio.gather(*sending) == [OK] * 6
        connections.close()
    assert server.most_open == 2
    assert [fields["text"] for _, fields in server.requests] == [[str(n)] for n in range(6)]


async def test_a_request_that_finds_no_free_connection_in_time_is_not_sent() -> None:
    async with serving(held) as server:
        connections = pool(server, size=1)
        first = asyncio.create_task(post(connections, "first"))
        await eventually_async(lambda: server.requests, 10, "the first request in")
        with pytest.raises(TimedOut, match="not sent"):
            await post(connections, "second", wait=0.05)
        server.release.set()
        assert await first == OK
        assert await post(connections, "third") == OK
        connections.close()
    assert [fields["text"] for _, fields in server.requests] == [["first"], ["third"]]


async def test_an_answer_that_does_not_come_in_time_is_lost_and_its_connection_dropped() -> None:
    async with serving(held) as server:
        connections = pool(server, size=1)
        with pytest.raises(AnswerLost):
            await post(connections, "late", read=0.05)
        server.release.set()
        assert await post(connections, "next") == OK
        connections.close()
    assert server.connections == 2


async def test_a_refused_connection_is_a_network_error() -> None:
    async with serving(keep_alive) as server:
        url = server.url
    with pytest.raises(NetworkError, match="connect"):
        await post(KeepAlivePool(url, 1, None, "test"), "x")


ME = json.dumps(
    {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "Bot", "username": "b"}}
).encode()


async def lost(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
    if server.requests[-1][0].endswith("/getMe"):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(ME), ME))
        return True
    if b"slow" in body:
        await server.release.wait()
    return await keep_alive(server, body, writer)


async def test_bot_calls_go_over_a_bounded_pool_and_a_lost_answer_is_an_unknown_outcome() -> None:
    """PTB's calls through CountedRequest: counted, on at most CONNECTIONS connections, a late answer lost."""
    metrics = Metrics()
    async with serving(lost) as server:
        request = CountedRequest(metrics, read_timeout=0.2)
        bot = Bot("1:TOKEN", base_url=f"{server.url}/bot", request=request, get_updates_request=request)
        async with bot:
            assert all(
                await asyncio.gather(*(bot.set_my_description(str(n)) for n in range(CONNECTIONS * 2)))
            )
            with pytest.raises(OutcomeUnknown):
                await bot.set_my_description("slow")
            server.release.set()
            me = await request.post(f"{server.url}/bot1:TOKEN/getMe", RequestData([]), read_timeout=1)
            assert isinstance(me, dict) and me["id"] == 1
    assert server.most_open <= CONNECTIONS
    assert server.connections <= CONNECTIONS + 1  # one more after the lost answer
    sample = metrics.registry.get_sample_value
    assert (
        sample("bot_telegram_requests_total", {"method": "setMyDescription", "outcome": "ok"})
        == CONNECTIONS * 2
    )
    assert (
        sample("bot_telegram_requests_total", {"method": "setMyDescription", "outcome": "network_error"}) == 1
    )
    assert (
        sample("bot_telegram_requests_total", {"method": "getMe", "outcome": "ok"}) == 2
    )  # and initialize()


def certificate_for_localhost(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's TLS context and a client's that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    unencrypted = serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, unencrypted)
    (folder / "key.pem").write_bytes(pem)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return served, ssl.create_default_context(cafile=str(folder / "cert.pem"))


async def test_https_connections_are_verified_and_kept(tmp_path: Path) -> None:
    served, trusting = certificate_for_localhost(tmp_path)
    async with serving(keep_alive, tls=served) as server:
        connections = KeepAlivePool(server.url, 2, trusting, "test")
        assert [await post(connections, "a"), await post(connections, "b")] == [OK, OK]
        connections.close()
        untrusting = KeepAlivePool(server.url, 1, ssl.create_default_context(), "test")
        with pytest.raises(NetworkError, match="connect"):  # the certificate is checked, as httpx does
            await post(untrusting, "c")
    assert server.connections == 1  # the refused handshake never got to HTTP


async def test_a_proxy_named_by_the_environment_carries_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """As httpx would: with HTTP_PROXY set, calls go to the proxy (the pool would bypass it)."""
    async with serving(keep_alive) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        request = CountedRequest(Metrics())
        await request.initialize()
        try:
            answer = await request.post("http://api.telegram.invalid/bot1:TOKEN/close", RequestData([]))
        finally:
            await request.shutdown()
    assert answer is True
    assert proxy.requests == [("http://api.telegram.invalid/bot1:TOKEN/close", {})]


async def test_the_answer_is_noted_as_arrived_when_its_first_bytes_came() -> None:
    """The flood limits count a request's period from its answer (bot/telegram/limits.py): the time its
    first bytes came is noted for them, not the time the caller got the whole answer."""
    head_sent = asyncio.Event()

    async def in_two_parts(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(OK), OK[:5]))
        await writer.drain()
        head_sent.set()
        await server.release.wait()
        writer.write(OK[5:])
        return True

    loop = asyncio.get_running_loop()
    async with serving(in_two_parts) as server:
        connections = pool(server)
        sent = loop.time()

        async def posted() -> tuple[bytes, float | None]:  # the time is read in the caller's context
            return await post(connections, "a"), answer_arrived.get()

        posting = asyncio.create_task(posted())
        await eventually_async(head_sent.is_set, 5, "the head of the answer sent")
        for _ in range(20):  # turns of the loop (no time passes): the client reads what is there
            await asyncio.sleep(0)
        released = loop.time()
        server.release.set()
        answer, arrived = await posting
        connections.close()
    assert answer == OK
    assert arrived is not None and sent <= arrived <= released


async def bot_api(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
    """Telegram's answers: the message sent or edited, or the refusal the text asks for."""
    text = server.requests[-1][1].get("text", [None])[0]  # a JSON body or PTB's own form
    status, answer = 200, {"ok": True, "result": SENT}
    if text == "same":
        status, answer = (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"},
        )
    elif text == "blocked":
        status, answer = (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        )
    elif text == "flood":
        answer = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3"}
        status, answer["parameters"] = 429, {"retry_after": 3}
    data = json.dumps(answer).encode()
    if text == "not json":
        data = b"<html>Bad Gateway</html>"
    elif text == "odd":  # a lone surrogate (escaped, as JSON allows) and a NaN, which orjson refuses to read
        message = b'{"message_id":7,"date":0,"chat":{"id":42,"type":"private"},"text":"\\ud800","x":NaN}'
        data = b'{"ok":true,"result":%s}' % message
    writer.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(data), data))
    return True


async def test_a_call_made_unparsed_returns_true_its_result_kept_and_its_refusals_raised_as_ever() -> None:
    """Inside `unparsed` PTB is spared parsing the message Telegram answers with; the message id is still
    there, and every refusal is the same exception as outside."""
    async with serving(bot_api) as server:
        request = CountedRequest(Metrics())
        bot = Bot("1:TOKEN", base_url=f"{server.url}/bot", request=request, get_updates_request=request)
        await request.initialize()
        try:
            sent = await bot.send_message(42, "hello")
            with unparsed() as result:
                returned = await bot.send_message(42, "hello")
            with unparsed() as edited:
                assert await bot.edit_message_text("hello", chat_id=42, message_id=7) is True
            refusals = []
            for text in ("same", "blocked", "flood"):
                with unparsed(), pytest.raises(TelegramError) as raised:
                    await bot.edit_message_text(text, chat_id=42, message_id=7)
                refusals.append(raised.value)
        finally:
            await request.shutdown()
    assert isinstance(sent, Message) and sent.message_id == 7 and sent.text == "hello"
    assert returned is True
    assert result.message_id(returned) == 7
    assert edited.value == SENT
    assert [type(refusal) for refusal in refusals] == [BadRequest, Forbidden, RetryAfter]
    assert "not modified" in refusals[0].message


async def test_a_call_unparsed_through_another_request_reads_the_id_of_the_message_returned() -> None:
    """A bot built without `CountedRequest` (PTB's own transport) parses as ever; the id is read from it."""
    async with serving(bot_api) as server:
        bot = Bot("1:TOKEN", base_url=f"{server.url}/bot")
        async with bot._request[1]:
            with unparsed() as result:
                returned = await bot.send_message(42, "hello")
    assert isinstance(returned, Message)
    assert result.value is None and result.message_id(returned) == 7


async def test_a_keyboard_goes_as_a_json_object_and_plain_values_as_the_text_ptb_gives() -> None:
    """Structured values are encoded once, with the body (the Bot API reads a JSON object as it reads its
    JSON text); numbers and flags stay the text PTB's own transport sends."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Zoë", callback_data="o:1")]])
    async with serving(bot_api) as server:
        request = CountedRequest(Metrics())
        bot = Bot("1:TOKEN", base_url=f"{server.url}/bot", request=request, get_updates_request=request)
        await request.initialize()
        try:
            await bot.send_message(42, "hello", reply_markup=markup, disable_notification=True)
        finally:
            await request.shutdown()
        plain = Bot("1:TOKEN", base_url=f"{server.url}/bot")  # PTB's own form, through httpx
        async with plain._request[1]:
            await plain.send_message(42, "hello", reply_markup=markup, disable_notification=True)
    (_, ours), (_, theirs) = server.requests[-2], server.requests[-1]
    assert ours["reply_markup"] == [markup.to_dict()]
    assert [json.loads(value) for value in theirs.pop("reply_markup")] == ours.pop("reply_markup")
    assert ours == theirs == {"chat_id": ["42"], "text": ["hello"], "disable_notification": ["true"]}


async def test_odd_texts_go_out_and_come_back_whole_and_a_body_that_is_not_json_is_telegrams_error() -> None:
    """orjson encodes and decodes the bodies (storage/json_codec.py); what it refuses (a lone surrogate,
    a NaN) goes through the standard library as before, and an answer that is not JSON is PTB's own error."""
    async with serving(bot_api) as server:
        request = CountedRequest(Metrics())
        bot = Bot("1:TOKEN", base_url=f"{server.url}/bot", request=request, get_updates_request=request)
        await request.initialize()
        try:
            sent = [await bot.send_message(42, text) for text in ("Zoë 😀 \ud800 end", "Зоя")]
            odd = await bot.send_message(42, "odd")
            with pytest.raises(TelegramError, match="Invalid server response"):
                await bot.send_message(42, "not json")
        finally:
            await request.shutdown()
    assert [fields["text"] for _, fields in server.requests[:2]] == [["Zoë 😀 \ud800 end"], ["Зоя"]]
    assert all(message.message_id == 7 for message in sent)
    assert odd.text == "\ud800" and math.isnan(odd.api_kwargs["x"])


def test_the_pool_works_on_uvloops_event_loop_as_on_asyncios() -> None:
    """`python -m bot` serves on uvloop (EVENT_LOOP): its transports are not `asyncio.Transport`s by class,
    yet they are the connections' transports all the same (the bot could send nothing at all before)."""
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed on Windows")

    async def requests_and_connections() -> tuple[list[bytes], int]:
        async with serving(keep_alive) as server:
            connections = pool(server)
            answers = [await post(connections, text) for text in ("one", "two", "three")]
            connections.close()
        return answers, server.connections

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        answers, opened = runner.run(requests_and_connections())
    assert answers == [OK] * 3
    assert opened == 1, "the three requests went over one kept connection"


def test_on_uvloop_an_answer_is_never_noted_as_arriving_before_the_server_had_the_request() -> None:
    """The flood limits count a request's period from its answer's arrival, which must not come before
    Telegram counted the request: uvloop's loop time counts whole milliseconds, which noted arrivals up to
    1 ms early, so the next request could reach Telegram just under a period later (429 answers)."""
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed on Windows")
    received: list[float] = []

    async def stamping(server: Server, body: bytes, writer: asyncio.StreamWriter) -> bool:
        received.append(time.monotonic())  # the request is whole here: Telegram would count it now
        return await keep_alive(server, body, writer)

    async def arrivals() -> list[float]:
        noted = []
        async with serving(stamping) as server:
            connections = pool(server)
            for n in range(40):
                await post(connections, str(n))
                arrived = answer_arrived.get()
                assert arrived is not None
                noted.append(arrived)
            connections.close()
        return noted

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        noted = runner.run(arrivals())
    early = [(got, arrived) for got, arrived in zip(received, noted, strict=True) if arrived < got]
    assert not early, f"{len(early)} of 40 answers noted before their request was received"
