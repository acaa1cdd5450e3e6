"""`python -m bot demo`: the real bot process against the sandbox emulators, one whole story, printed.

An owner creates a service and connects Zoom; a customer orders a slot; the Zoom meeting is created
and the Join link reaches both chats. SQLite in a temporary folder; nothing leaves this machine.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

from sandbox.harness import BotProcess, Sandbox, bot_environment, start_sandbox
from sandbox.telegram.client import SentMessage, TelegramUser

OWNER_ID, CUSTOMER_ID = 1001, 2002


def has_join_button(message: SentMessage) -> bool:
    return any(button.text == "Join a meeting" and button.url for row in message.buttons for button in row)


def play(sandbox: Sandbox) -> list[str]:
    """The story; returns what went wrong (nothing, when all is well)."""
    owner = TelegramUser(sandbox.telegram_server.url, OWNER_ID, "Olivia", "olivia_coach")
    customer = TelegramUser(sandbox.telegram_server.url, CUSTOMER_ID, "Carl", "carl")
    owner.send("/start")
    owner.wait_for_text("/newservice")
    owner.send("/timezone Europe/Berlin")
    owner.wait_for_text("Europe/Berlin")
    owner.send("/newservice 60 Coaching session")
    card = owner.wait_for_text("Share link")
    owner.press(card, "Zoom: Off")
    invite = owner.wait_for(
        lambda m: any(b.url for row in m.buttons for b in row), description="Connect Zoom"
    )
    login_url = owner.press(invite, "Connect Zoom")
    if not login_url:
        return ["the Connect Zoom button has no URL"]
    page = sandbox.zoom_control.open_authorize_link(login_url)
    owner.wait_for_text("Zoom is connected")
    link = re.search(r"https://t\.me/\S+\?start=(s_[A-Za-z0-9_-]+)", card.text)
    if link is None:
        return ["the service card has no share link"]
    customer.send(f"/start {link.group(1)}")
    offer = customer.wait_for_text("Coaching session")
    customer.press(offer, "Order")
    days = customer.wait_for_text("Pick a day")
    customer.press(days, days.buttons[0][0].text)
    times = customer.wait_for_text("Pick a start time")
    customer.press(times, times.buttons[0][0].text)
    ask = customer.wait_for_text("What should the order be called")
    customer.press(ask, "Skip")
    summary = customer.wait_for_text("Please check your order")
    customer.press(summary, "Confirm")
    customer.wait_for(has_join_button, timeout=20, description="the order with a Join a meeting button")
    owner.wait_for(has_join_button, timeout=20, description="the owner's order with a Join a meeting button")
    problems = []
    if page.status_code != 200:
        problems.append(f"the Zoom callback page answered {page.status_code}")
    print_story(sandbox, owner, customer)
    return problems


def print_story(sandbox: Sandbox, owner: TelegramUser, customer: TelegramUser) -> None:
    print("=" * 72)
    print("Owner's chat (Olivia)")
    print("=" * 72)
    print(owner.transcript())
    print("=" * 72)
    print("Customer's chat (Carl)")
    print("=" * 72)
    print(customer.transcript())
    print("=" * 72)
    print("What Zoom received")
    print("=" * 72)
    for call in sandbox.zoom_control.token_calls():
        print(f"POST /oauth/token grant_type={call.get('grant_type')} -> {call.get('status')}")
    for request in sandbox.zoom_control.requests():
        body = request.get("json") or request.get("body")
        shown = json.dumps(body, ensure_ascii=False) if body else ""
        print(f"{request.get('method')} {request.get('path')} -> {request.get('status')} {shown}")


def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="bot-demo-") as folder:
        sandbox = start_sandbox()
        database = f"sqlite+aiosqlite:///{Path(folder) / 'bot.db'}"
        process = BotProcess.in_folder(
            sandbox, bot_environment(sandbox, database, LOG_LEVEL="WARNING"), Path(folder)
        )
        try:
            process.start()
            problems = play(sandbox)
        except AssertionError as exc:
            problems = [str(exc)]
        finally:
            code = process.stop()
            sandbox.stop()
        if code not in (0, None):
            problems.append(f"the bot exited with {code} on SIGTERM")
        if problems:
            print("\nDemo FAILED:", *problems, sep="\n- ", file=sys.stderr)
            print("\nBot log:\n" + process.logs(), file=sys.stderr)
            return 1
        print("\nDemo finished: the Join a meeting link reached both chats.")
        return 0
