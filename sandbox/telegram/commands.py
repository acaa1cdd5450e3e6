"""The bot's command menus per scope and language, and which one a chat ends up showing."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from sandbox.telegram.errors import bad_request

Command = dict[str, str]
ScopeKey = tuple[str, int | None, int | None]  # scope type, chat_id, user_id
MAX_COMMANDS = 100
_COMMAND = re.compile(r"[a-z0-9_]+")
_CHAT_SCOPES = ("chat", "chat_administrators", "chat_member")
_GLOBAL_SCOPES = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")


def parse_commands(raw: Any) -> list[Command]:
    """Validate setMyCommands' `commands` like the server (a leading '/' is dropped)."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise bad_request("can't parse commands JSON object")
    if len(raw) > MAX_COMMANDS:
        raise bad_request("too many commands specified")
    return [_command(item) for item in raw]


def _command(item: dict[str, Any]) -> Command:
    command, description = item.get("command"), item.get("description")
    if not isinstance(command, str) or not isinstance(description, str):
        raise bad_request("can't parse BotCommand JSON object")
    command = command.removeprefix("/")
    if not command:
        raise bad_request("command must be non-empty")
    if len(command) > 32:
        raise bad_request("command length must not exceed 32")
    if not _COMMAND.fullmatch(command):
        raise bad_request("BOT_COMMAND_INVALID")
    if len(description) > 256:
        raise bad_request("command description length must not exceed 256")
    if not description.strip():
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": command, "description": description}


def parse_scope(raw: Any, chat_type: Callable[[int], str | None]) -> ScopeKey:
    """A BotCommandScope object as a key; `chat_type` tells a chat's type (None when unknown)."""
    if raw is None:
        return ("default", None, None)
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind in _GLOBAL_SCOPES:
        return (kind, None, None)
    if kind not in _CHAT_SCOPES or not isinstance(raw, dict):
        raise bad_request("unsupported bot command scope type")
    chat_id = _integer(raw.get("chat_id"))
    found = chat_type(chat_id) if chat_id is not None else None
    if chat_id is None or found is None:
        raise bad_request("chat not found")
    if kind != "chat" and found == "private":
        raise bad_request("can't change commands in private chats")
    user_id = _integer(raw.get("user_id")) if kind == "chat_member" else None
    if kind == "chat_member" and user_id is None:
        raise bad_request("user not found")
    return (kind, chat_id, user_id)


def _integer(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CommandMenus:
    """setMyCommands / getMyCommands / deleteMyCommands storage plus Telegram's resolution order."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._menus: dict[tuple[ScopeKey, str], list[Command]] = {}

    def set(self, scope: ScopeKey, language_code: str, commands: list[Command]) -> None:
        with self._lock:
            if commands:
                self._menus[(scope, language_code)] = commands
            else:
                self._menus.pop((scope, language_code), None)

    def get(self, scope: ScopeKey, language_code: str) -> list[Command]:
        with self._lock:
            return list(self._menus.get((scope, language_code), []))

    def delete(self, scope: ScopeKey, language_code: str) -> None:
        self.set(scope, language_code, [])

    def for_private_chat(self, chat_id: int, language_code: str) -> list[Command]:
        """chat -> all_private_chats -> default, each first with the user's language, then without."""
        scopes: list[ScopeKey] = [
            ("chat", chat_id, None),
            ("all_private_chats", None, None),
            ("default", None, None),
        ]
        return self._first(scopes, language_code)

    def for_group_member(self, chat_id: int, user_id: int, language_code: str) -> list[Command]:
        """chat_member -> chat -> all_group_chats -> default (administrator scopes are not modelled)."""
        scopes: list[ScopeKey] = [
            ("chat_member", chat_id, user_id),
            ("chat", chat_id, None),
            ("all_group_chats", None, None),
            ("default", None, None),
        ]
        return self._first(scopes, language_code)

    def _first(self, scopes: list[ScopeKey], language_code: str) -> list[Command]:
        languages = [language_code, ""] if language_code else [""]
        with self._lock:
            for scope in scopes:
                for language in languages:
                    menu = self._menus.get((scope, language))
                    if menu:
                        return list(menu)
            return []
