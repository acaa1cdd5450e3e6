"""The burst with Telegram's flood limits on: how much of the overall cap the bot uses while messages wait.

A message waits from the customer's Confirm until the Join link is in that chat: the customer's card and
the owner's card each. A second of the run counts as backlog when some order still waits in some chat
for the whole second; the cap used is the sends Telegram accepted in those seconds over what the overall
limit allows in them. Because each chat takes about one send a second, the limits may allow less than the
overall cap when few chats wait (the owners' at the end): the second share counts only the sends to the chats
waiting in that second and divides them by min(overall, chats waiting x per-chat rate).

The bot sends an order's cards before the conversations' other messages, so with a fast enough bot no
card waits a whole second and those figures have no seconds to count; the conversations' messages wait
instead (200 people answer at once, the cap allows 30 sends a second). The cap used from the first accepted
send to the last counts them: every whole second of it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.telegram.client import BotCall, TelegramControl
from tests.support.crowds import Confirmed
from tests.support.journeys import order_number

JOIN = "Join a meeting"
COUNTED = ("sendMessage", "editMessageText", "editMessageReplyMarkup")  # what the emulator's limits count
CARD = re.compile(r"Order #(\d+)")


@dataclass(frozen=True)
class LimitFigures:
    orders: int
    seconds: float
    backlog_seconds: int
    sent_in_backlog: int
    cap_share: float
    attainable_share: float
    sending_seconds: int  # whole seconds from the first counted send Telegram accepted to the last
    sent_while_sending: int
    sending_share: float  # of the overall cap in those seconds
    refused: int
    lost_customer: int
    lost_owner: int

    @property
    def lost(self) -> int:
        return self.lost_customer + self.lost_owner


def _with_join(call: BotCall) -> bool:
    markup = call.params.get("reply_markup")
    return call.status == 200 and markup is not None and JOIN in str(markup)


def owner_join_times(
    telegram: TelegramControl, calls: Sequence[BotCall], booked: Sequence[Confirmed], wait: float
) -> dict[int, float]:
    """When each order's card in its owner's chat first carried the Join link, by order number.

    With `wait`, polls the emulator until every owner card has it or `wait` seconds passed.
    """
    deadline = time.monotonic() + wait
    while True:
        found = _owner_join_times(telegram, calls, booked)
        if len(found) == len(booked) or time.monotonic() >= deadline:
            return found
        time.sleep(1)
        calls = telegram.calls()


def _owner_join_times(
    telegram: TelegramControl, calls: Sequence[BotCall], booked: Sequence[Confirmed]
) -> dict[int, float]:
    owners = {b.shop.owner.user_id for b in booked}
    card_of: dict[tuple[str, str], int] = {}  # (owner chat, message id) -> order number
    for owner in owners:
        for message in telegram.chat(owner):
            number = order_number(message)
            if number is not None and message.from_bot:
                card_of[(str(owner), str(message.message_id))] = number
    wanted = {b.placed.number: str(b.shop.owner.user_id) for b in booked}
    found: dict[int, float] = {}
    for call in calls:
        if not _with_join(call):
            continue
        chat = str(call.params.get("chat_id"))
        if call.method == "sendMessage":
            header = CARD.search(str(call.params.get("text", "")))
            number = int(header.group(1)) if header else None
        else:
            number = card_of.get((chat, str(call.params.get("message_id"))))
        if number is not None and wanted.get(number) == chat:
            found.setdefault(number, call.at)
    return found


def cap_use(
    calls: Sequence[BotCall],
    booked: Sequence[Confirmed],
    customers_done: dict[int, float],
    owners_done: dict[int, float],
    overall: int,
    chat_rate: float = 1.0,
) -> LimitFigures:
    confirmed = {b.placed.number: b.confirmed_at for b in booked}
    start = min(confirmed.values())
    ends = list(customers_done.values()) + list(owners_done.values())
    end = max(ends) if ends else start
    waits: list[tuple[float, float, str]] = []  # (from, until, chat) for every order and chat
    for b in booked:
        number = b.placed.number
        never = math.inf
        waits.append((confirmed[number], customers_done.get(number, never), str(b.placed.customer.user_id)))
        waits.append((confirmed[number], owners_done.get(number, never), str(b.shop.owner.user_id)))
    accepted = sorted(
        (c.at, str(c.params.get("chat_id"))) for c in calls if c.method in COUNTED and c.status == 200
    )
    backlog_seconds = sent = sent_to_waiting = 0
    allowed = 0.0
    second = start
    while second + 1 <= end:
        chats = {chat for since, until, chat in waits if since <= second and until >= second + 1}
        if chats:
            backlog_seconds += 1
            in_second = [chat for at, chat in accepted if second <= at < second + 1]
            sent += len(in_second)
            sent_to_waiting += sum(1 for chat in in_second if chat in chats)
            allowed += min(overall, len(chats) * chat_rate)
        second += 1
    sending_seconds = sent_while_sending = 0
    if accepted:
        first = accepted[0][0]
        sending_seconds = int(accepted[-1][0] - first)
        sent_while_sending = sum(1 for at, _chat in accepted if at < first + sending_seconds)
    return LimitFigures(
        orders=len(booked),
        seconds=end - start,
        backlog_seconds=backlog_seconds,
        sent_in_backlog=sent,
        cap_share=sent / (overall * backlog_seconds) if backlog_seconds else 1.0,
        attainable_share=sent_to_waiting / allowed if allowed else 1.0,
        sending_seconds=sending_seconds,
        sent_while_sending=sent_while_sending,
        sending_share=sent_while_sending / (overall * sending_seconds) if sending_seconds else 1.0,
        refused=sum(1 for c in calls if c.status == 429),
        lost_customer=len(booked) - len(customers_done),
        lost_owner=len(booked) - len(owners_done),
    )
