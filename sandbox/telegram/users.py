"""What simulated people do in their Telegram apps, turned into the updates the bot receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.telegram.callbacks import CallbackQueries
from sandbox.telegram.text import FormattedText, trimmed, with_auto_entities
from sandbox.telegram.updates import JSON, UpdateQueue
from sandbox.telegram.world import StoredMessage, User, World

STICKER: JSON = {
    "file_id": "CAACAgIAAxkBAAEBsandboxStickerFileId",
    "file_unique_id": "AgADsandbox",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "emoji": "👍",
}


class UserActionError(Exception):
    """Something a real Telegram app would not let the person do (the control API answers 409)."""


@dataclass(frozen=True)
class ButtonPress:
    """The outcome of pressing an inline button: a callback query id, or the URL that opens."""

    query_id: str | None = None
    url: str | None = None


class Users:
    """Messages, edits, presses and blocks by simulated people.

    In groups the bot is in privacy mode by default (getMe says can_read_all_group_messages=false), so
    like in Telegram it receives only commands (not addressed to another bot) and messages mentioning it.
    """

    def __init__(
        self, world: World, updates: UpdateQueue, callbacks: CallbackQueries, bot_username: str
    ) -> None:
        self._world = world
        self._updates = updates
        self._callbacks = callbacks
        self._bot_username = bot_username.lower()
        self.privacy_mode = True

    def send(self, person: User, text: str) -> StoredMessage:
        self._check_not_blocked(person)
        chat = self._world.open_private_chat(person)
        message = self._world.add_user_message(chat, person, _typed(text), {})
        self._push_message("message", message)
        return message

    def send_in_group(self, person: User, group_id: int, text: str) -> StoredMessage:
        chat = self._world.open_group(group_id, f"Group {-group_id}")
        message = self._world.add_user_message(chat, person, _typed(text), {})
        if not self.privacy_mode or self._addressed_to_bot(message):
            self._push_message("message", message)
        return message

    def send_sticker(self, person: User) -> StoredMessage:
        self._check_not_blocked(person)
        chat = self._world.open_private_chat(person)
        message = self._world.add_user_message(chat, person, None, {"sticker": STICKER})
        self._push_message("message", message)
        return message

    def edit(self, person: User, message_id: int, text: str) -> StoredMessage:
        try:
            message = self._world.edit_user_message(person.id, person, message_id, _typed(text))
        except LookupError as exc:
            raise UserActionError(str(exc)) from exc
        self._push_message("edited_message", message)
        return message

    def press(self, person: User, message_id: int, label: str) -> ButtonPress:
        message = self._world.find(person.id, message_id)
        if message is None or not message.from_bot:
            raise UserActionError(f"there is no bot message {message_id} in the chat with {person.id}")
        button = find_button(message, label)
        if button.get("callback_data") is not None:
            return ButtonPress(query_id=self.press_data(person, message_id, button["callback_data"]))
        url = button.get("url") or _nested_url(button, "web_app") or _nested_url(button, "login_url")
        if url is None:
            raise UserActionError(f"button {button['text']!r} is neither a callback nor a URL button")
        return ButtonPress(url=url)

    def press_data(self, person: User, message_id: int, data: str) -> str:
        """A callback query with any data on any message id, as a forged client could send."""
        message = self._world.find(person.id, message_id)
        query = self._callbacks.create(person.id, person.id, message_id, data)
        shown = message.as_message() if message is not None else _inaccessible(person, message_id)
        payload = {
            "id": query.id,
            "from": person.as_user(),
            "message": shown,
            "chat_instance": self._callbacks.chat_instance(person.id),
            "data": data,
        }
        self._updates.push("callback_query", payload, f"callback:{person.id}")
        return query.id

    def set_blocked(self, person: User, blocked: bool) -> None:
        """Block or unblock the bot; the bot hears about it as a my_chat_member update."""
        chat = self._world.chat(person.id)
        if not self._world.set_blocked(person.id, blocked) or chat is None:
            return
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        payload = {
            "chat": chat.info,
            "from": person.as_user(),
            "date": self._world.now(),
            "old_chat_member": self._member(old),
            "new_chat_member": self._member(new),
        }
        self._updates.push("my_chat_member", payload, f"chat:{person.id}")

    def _member(self, status: str) -> JSON:
        user = {name: self._world.bot_user[name] for name in ("id", "is_bot", "first_name", "username")}
        return {"user": user, "status": status, **({"until_date": 0} if status == "kicked" else {})}

    def _check_not_blocked(self, person: User) -> None:
        if self._world.is_blocked(person.id):
            raise UserActionError(f"user {person.id} has blocked the bot; unblock it first")

    def _push_message(self, kind: str, message: StoredMessage) -> None:
        self._updates.push(kind, message.as_message(), f"chat:{message.chat['id']}")

    def _addressed_to_bot(self, message: StoredMessage) -> bool:
        text = message.text or ""
        for entity in message.entities:
            word = text[entity["offset"] : entity["offset"] + entity["length"]].lower()
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                return "@" not in word or word.endswith(f"@{self._bot_username}")
            if entity["type"] == "mention" and word == f"@{self._bot_username}":
                return True
        return False


def find_button(message: StoredMessage, label: str) -> JSON:
    """The inline button labelled `label`, else the first whose label contains it; the error lists them."""
    rows: list[list[JSON]] = (message.reply_markup or {}).get("inline_keyboard", [])
    buttons = [button for row in rows for button in row]
    for matches in ([b for b in buttons if b["text"] == label], [b for b in buttons if label in b["text"]]):
        if matches:
            return matches[0]
    labels = ", ".join(repr(button["text"]) for button in buttons) or "none"
    raise UserActionError(f"no button matching {label!r} on message {message.message_id}; buttons: {labels}")


def _typed(text: str) -> FormattedText:
    formatted = with_auto_entities(trimmed(FormattedText(text)))
    if not formatted.text:
        raise UserActionError("Telegram apps do not send empty messages")
    return formatted


def _nested_url(button: JSON, kind: str) -> str | None:
    value: Any = button.get(kind)
    url = value.get("url") if isinstance(value, dict) else None
    return url if isinstance(url, str) else None


def _inaccessible(person: User, message_id: int) -> JSON:
    return {"chat": person.as_private_chat(), "message_id": message_id, "date": 0}
