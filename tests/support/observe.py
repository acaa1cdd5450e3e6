"""What the bot left behind, as tests check it: the requests Zoom saw and the meetings it holds, the secrets
Zoom issued, the Bot API calls Telegram refused, problems in the bot's log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sandbox.harness import Sandbox
from sandbox.telegram.client import SentMessage, TelegramControl, TelegramUser
from tests.support.databases import connections_state, orders_state, services_state

CREATE_PATH = "/v2/users/me/meetings"


def zoom_requests(sandbox: Sandbox, method: str, path: str) -> list[dict[str, Any]]:
    """Requests the bot made to the emulated Zoom with this method and exact path."""
    return [r for r in sandbox.zoom_control.requests() if r["method"] == method and r["path"] == path]


def creates(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every meeting-create request, whatever its outcome."""
    return zoom_requests(sandbox, "POST", CREATE_PATH)


def refreshes(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [c for c in sandbox.zoom_control.token_calls() if c["grant_type"] == "refresh_token"]


def live_meetings(sandbox: Sandbox, email: str | None = None) -> list[dict[str, Any]]:
    return [m for m in sandbox.zoom_control.meetings(email) if not m["deleted"]]


def marker_of(meeting: dict[str, Any]) -> int | None:
    """The order number in a meeting's agenda marker `[telegram-order-N]`."""
    found = re.search(r"\[telegram-order-(\d+)\]", str(meeting.get("agenda", "")))
    return int(found.group(1)) if found else None


# What Zoom issued and what the bot sent it, from the emulator's own state and request log.


@dataclass(frozen=True)
class ZoomSecrets:
    access_tokens: set[str]
    refresh_tokens: set[str]
    codes: set[str]
    code_verifiers: set[str]

    def all(self) -> set[str]:
        return self.access_tokens | self.refresh_tokens | self.codes | self.code_verifiers


def zoom_secrets(sandbox: Sandbox) -> ZoomSecrets:
    authority = sandbox.zoom.authority
    access = set(authority._access)  # every access token ever issued (expiry keeps the key)
    refresh = {grant.refresh_token for grant in authority._grants.values() if grant.refresh_token}
    codes: set[str] = set()
    verifiers: set[str] = set()
    for entry in sandbox.zoom_control.requests():
        form = entry.get("form") or {}
        refresh |= {form["refresh_token"]} if form.get("refresh_token") else set()
        codes |= {form["code"]} if form.get("code") else set()
        verifiers |= {form["code_verifier"]} if form.get("code_verifier") else set()
        if entry["path"].endswith("/oauth/revoke") and form.get("token"):
            refresh.add(form["token"])
    return ZoomSecrets(access, refresh, codes, verifiers)


def states_in(messages: list[SentMessage]) -> set[str]:
    """The OAuth `state` of every Connect Zoom link the bot sent into a chat."""
    states = set()
    for message in messages:
        for row in message.buttons:
            for button in row:
                if button.url and "state=" in button.url:
                    states.update(parse_qs(urlsplit(button.url).query).get("state", []))
    return states


# Telegram: what the bot sent and whether the emulator accepted it.


def refused_calls(telegram: TelegramControl) -> list[str]:
    """Bot API calls the emulator refused, except edits that changed nothing (harmless)."""
    return [
        f"{call.method} {call.status} {call.description}: {str(call.params)[:300]}"
        for call in telegram.calls()
        if not call.ok and "not modified" not in (call.description or "")
    ]


def log_problems(log: str) -> list[str]:
    """Lines of the bot's log at ERROR or CRITICAL level, and tracebacks."""
    return [
        line
        for line in log.splitlines()
        if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
    ]


def callback_of(authorize_url: str) -> str:
    """What the browser does at zoom.us, without following the redirect: the bot's callback URL."""
    with httpx.Client(trust_env=False, timeout=10) as browser:
        answer = browser.get(authorize_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def bot_messages_count(*users: TelegramUser) -> list[int]:
    return [len(user.bot_messages()) for user in users]


def what_a_forgery_would_change(database_url: str, *users: TelegramUser) -> dict[str, Any]:
    """Orders, Zoom connections and services as stored, and how many messages each of `users` got: what
    must stay the same when someone sends what they may not."""
    return {
        "orders": orders_state(database_url),
        "connections": connections_state(database_url),
        "services": services_state(database_url),
        "messages": bot_messages_count(*users),
    }
