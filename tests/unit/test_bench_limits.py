"""The limits part's figures from a call log (bench/limits.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bench.limits import cap_use
from sandbox.telegram.client import BotCall


def _booked(number: int, customer: int, owner: int, confirmed_at: float) -> Any:
    return SimpleNamespace(
        placed=SimpleNamespace(number=number, customer=SimpleNamespace(user_id=customer)),
        shop=SimpleNamespace(owner=SimpleNamespace(user_id=owner)),
        confirmed_at=confirmed_at,
    )


def _send(chat: int, at: float, status: int = 200) -> BotCall:
    return BotCall(method="sendMessage", params={"chat_id": chat}, status=status, description=None, at=at)


def test_the_share_of_what_the_limits_allowed_counts_only_sends_to_waiting_chats() -> None:
    # One order waits 3 s in its customer's chat (1) and its owner's chat (2); meanwhile the bot sends 2 a
    # second to those chats and 20 a second to chats where nothing waits.
    booked = [_booked(1, customer=1, owner=2, confirmed_at=0.0)]
    calls = [_send(chat, second + 0.01 * i) for second in range(3) for i, chat in enumerate([1, 2])]
    calls += [_send(100 + i, second + 0.5) for second in range(3) for i in range(20)]
    calls.append(_send(1, 1.5, status=429))  # refused: neither figure counts it
    found = cap_use(calls, booked, customers_done={1: 3.0}, owners_done={1: 3.0}, overall=30)
    assert found.backlog_seconds == 3
    assert found.sent_in_backlog == 66
    assert round(found.cap_share, 3) == round(66 / 90, 3)
    assert found.attainable_share == 1.0  # 2 sends a second to 2 chats that may take 1 a second each
    assert found.refused == 1
    assert found.lost == 0


def test_an_order_whose_join_never_came_is_lost_in_that_chat() -> None:
    booked = [_booked(n, customer=n, owner=9, confirmed_at=0.0) for n in (1, 2)]
    found = cap_use([], booked, customers_done={1: 1.0, 2: 1.0}, owners_done={1: 1.0}, overall=30)
    assert (found.lost_customer, found.lost_owner) == (0, 1)


def test_the_cap_used_from_the_first_send_to_the_last_counts_every_whole_second_between() -> None:
    # No card waits (its Join came with the Confirm); the bot sends 30 a second for 3 s, then 10 in a
    # second whose end is not in the log (the last send's second is not whole: not counted).
    booked = [_booked(1, customer=1, owner=2, confirmed_at=0.0)]
    calls = [_send(100 + i, second + i / 30) for second in range(3) for i in range(30)]
    calls += [_send(200 + i, 3 + i / 20) for i in range(10)]
    calls.append(_send(1, 1.5, status=429))  # refused: not counted
    found = cap_use(calls, booked, customers_done={1: 0.0}, owners_done={1: 0.0}, overall=30)
    assert found.backlog_seconds == 0
    assert (found.sending_seconds, found.sent_while_sending) == (3, 90)
    assert found.sending_share == 1.0
    quiet = cap_use(calls[::2], booked, customers_done={1: 0.0}, owners_done={1: 0.0}, overall=30)
    assert quiet.sending_share < 0.6
