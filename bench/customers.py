"""Customers ordering at once, as in tests/support/crowds.py, but patient and light on the emulator.

Under a burst every step can take longer than the tests' 20 s, and hundreds of people polling their chats
would cost the shared machine more CPU than the bot (200 people looking twice a second took more CPU than
the bot itself, on the same two cores): here each person asks the emulator for their chat once it changed
(the control API's `after`/`wait`), so a step costs a request or two, and waits up to `timeout` in all.
Latencies are not taken from these reads but from the emulator's call log.
"""

from __future__ import annotations

import contextlib
import http.client
import json as _json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support.crowds import Confirmed, Placed, Planned, slot
from tests.support.journeys import order_number


class KeptConnection:
    """One person's keep-alive HTTP/1.1 connection to the emulator, through the standard library's
    http.client. An httpx client spent about 1 ms of CPU a request (its URL, header and request models,
    httpcore's pool, h11): the burst's 200 people make about 2,400 requests, which took more than two CPU
    seconds on the two cores the bot is measured on (most of a core while they all started).

    A connection idle for KEEPALIVE_SECONDS or more is opened anew before a request, so none is reused as
    uvicorn closes it (5 s); a request is never sent twice (a broken one raises `TransportError`)."""

    KEEPALIVE_SECONDS = 2.0

    def __init__(self, timeout: float = 60.0) -> None:
        self._timeout = timeout
        self._origin = ""
        self._connection: http.client.HTTPConnection | None = None
        self._used = 0.0

    def request(
        self, method: str, url: str, *, json: Any = None, params: Any = None, timeout: Any = None
    ) -> KeptAnswer:
        parts = urlsplit(url)
        target = parts.path + (f"?{urlencode(params)}" if params else "")
        body = _json.dumps(json).encode() if json is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection = self._connected(parts.netloc, self._timeout if timeout is None else float(timeout))
        try:
            connection.request(method, target, body=body, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(f"{method} {parts.path}: {exc!r}") from exc
        if answer.will_close:
            self.close()
        self._used = time.monotonic()
        return KeptAnswer(answer.status, content)

    def _connected(self, origin: str, timeout: float) -> http.client.HTTPConnection:
        stale = time.monotonic() - self._used >= self.KEEPALIVE_SECONDS
        if self._connection is None or origin != self._origin or stale:
            self.close()
            host, _, port = origin.rpartition(":")
            self._connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
            self._origin = origin
        elif self._connection.sock is not None:
            self._connection.sock.settimeout(timeout)
        self._connection.timeout = timeout
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class TransportError(Exception):
    """A request to the emulator broke (it may or may not have been carried out)."""


@dataclass(frozen=True)
class KeptAnswer:
    """An answer, with what the control calls read of httpx's."""

    status_code: int
    content: bytes

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)


@contextlib.contextmanager
def own_connections(count: int) -> Iterator[list[KeptConnection]]:
    """A connection of its own for each of `count` simulated people. One pool shared by hundreds of threads
    cost the driver more CPU than the bot (httpx's pool looks through all its connections under one lock for
    every request, and the threads queued on that lock)."""
    connections = [KeptConnection() for _ in range(count)]
    try:
        yield connections
    finally:
        for connection in connections:
            connection.close()


@dataclass(frozen=True)
class Pace:
    timeout: float = 300.0
    interval: float = 0.5  # before asking again after a broken connection
    wait: float = 10.0  # the longest one request for a change waits (the HTTP timeout is 30 s)


def wait_for(
    person: TelegramUser, pace: Pace, predicate: Callable[[SentMessage], bool], what: str
) -> SentMessage:
    """The newest bot message sent or edited since the person's last action that satisfies `predicate`."""
    deadline = time.monotonic() + pace.timeout
    since = person._since  # the emulator's change counter at this person's last action
    seq = since
    while True:
        wait = max(0.0, min(pace.wait, deadline - time.monotonic()))
        try:
            seen, seq = person.changes_after(seq, wait)
        except TransportError:  # the connection broke under load: asking again is harmless
            time.sleep(pace.interval)
            continue
        fresh = [m for m in seen if m.from_bot and m.raw.get("seq", 0) > since]
        found = next((m for m in reversed(fresh) if predicate(m)), None)
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{person.first_name}: no {what} within {pace.timeout:g} s; the chat:\n{person.transcript()}"
            )


def _has(label: str) -> Callable[[SentMessage], bool]:
    return lambda m: any(b.text == label for row in m.buttons for b in row)


def _says(text: str) -> Callable[[SentMessage], bool]:
    return lambda m: text in m.text


def order_one(person: TelegramUser, planned: Planned, pace: Pace) -> Confirmed:
    """Open the service link, pick the day and time, skip the name, confirm: the placed order."""
    day, label = slot(planned.slot_index)
    person.send(f"/start s_{planned.shop.code}")
    person.press(wait_for(person, pace, _has("Order"), "Order button"), "Order")
    days = wait_for(person, pace, _says("Pick a day"), "days")
    person.press(days, days.buttons[day // 3][day % 3].text)
    person.press(wait_for(person, pace, _says("Pick a start time"), "times"), label)
    person.press(wait_for(person, pace, _says("What should the order be called"), "name step"), "Skip")
    summary = wait_for(person, pace, _says("Please check your order"), "summary")
    pressed = time.time()
    person.press(summary, "Confirm")
    card = wait_for(
        person,
        pace,
        lambda m: m.message_id == summary.message_id and order_number(m) is not None,
        "order card",
    )
    number = order_number(card)
    assert number is not None
    return Confirmed(Placed(person, number, card.message_id), planned.shop, pressed)


def place_at_once(people: Sequence[TelegramUser], plan: Sequence[Planned], pace: Pace) -> list[Confirmed]:
    """Each person places their share of the plan one order after another; people run in parallel."""
    lanes = [list(plan[i :: len(people)]) for i in range(len(people))]

    def run(person: TelegramUser, mine: list[Planned]) -> list[Confirmed]:
        return [order_one(person, planned, pace) for planned in mine]

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        results = list(pool.map(run, people, lanes))
    return [booked for lane in results for booked in lane]
