"""The chats the sandbox bot takes part in: users, private and group chats, their messages and edits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import Clock
from sandbox.telegram.errors import bad_request, forbidden
from sandbox.telegram.text import Entity, FormattedText

JSON = dict[str, Any]
DELETE_WINDOW_SECONDS = 48 * 3600
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)


@dataclass(frozen=True)
class User:
    """A simulated Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def as_user(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        return {**user, **{name: value for name, value in optional.items() if value}}

    def as_private_chat(self) -> JSON:
        chat: JSON = {"id": self.id, "first_name": self.first_name}
        optional = {"last_name": self.last_name, "username": self.username}
        return {**chat, **{name: value for name, value in optional.items() if value}, "type": "private"}


@dataclass
class StoredMessage:
    """One message as the server keeps it; `history` holds the versions before each edit."""

    message_id: int
    chat: JSON
    sender: JSON
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[Entity] = field(default_factory=list)
    reply_markup: JSON | None = None
    extra: JSON = field(default_factory=dict)
    reply_to: StoredMessage | None = None
    edit_date: int | None = None
    history: list[JSON] = field(default_factory=list)
    deleted: bool = False
    seq: int = 0  # the world's change counter when this message was last sent or edited

    def as_message(self, with_reply: bool = True) -> JSON:
        """The Bot API Message object."""
        message: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            message["reply_to_message"] = self.reply_to.as_message(with_reply=False)
        if self.text is not None:
            message["text"] = self.text
        if self.entities:
            message["entities"] = self.entities
        message.update(self.extra)
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        return message

    def content(self) -> tuple[str | None, list[Entity], JSON | None]:
        return self.text, self.entities, self.reply_markup

    def transcript_entry(self) -> JSON:
        """What a person sees, for the control API: the message plus its edit history."""
        return {
            **self.as_message(),
            "from_bot": self.from_bot,
            "edits": len(self.history),
            "history": list(self.history),
            "seq": self.seq,
        }


@dataclass(frozen=True)
class Reply:
    """Which message a bot message answers; `tolerant` sends anyway when it is gone."""

    message_id: int
    tolerant: bool = False


@dataclass
class Chat:
    info: JSON
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0
    reply_keyboard: JSON | None = None

    @property
    def id(self) -> int:
        chat_id: int = self.info["id"]
        return chat_id

    def add(self, sender: JSON, from_bot: bool, date: int) -> StoredMessage:
        self.last_message_id += 1
        message = StoredMessage(self.last_message_id, self.info, sender, from_bot, date)
        self.messages[message.message_id] = message
        return message

    def visible(self) -> list[StoredMessage]:
        return [message for message in self.messages.values() if not message.deleted]


class World:
    """All chats and messages; every method is atomic under the sandbox lock."""

    def __init__(self, bot_user: JSON, clock: Clock, lock: threading.RLock) -> None:
        self.bot_user = bot_user
        self._clock = clock
        self._lock = lock
        self._chats: dict[int, Chat] = {}
        self._blocked: set[int] = set()
        self._changes = 0
        self._chat_changes: dict[int, int] = {}  # a chat's newest change
        self._watchers: dict[int, list[Callable[[], None]]] = {}  # told once, at a chat's next change

    def now(self) -> int:
        return int(self._clock.time())

    def changes(self) -> int:
        """How many messages were sent or edited so far; lets a client ask for what changed since."""
        with self._lock:
            return self._changes

    def _touch(self, message: StoredMessage) -> None:
        self._changes += 1
        message.seq = self._changes
        chat_id = message.chat["id"]
        self._chat_changes[chat_id] = self._changes
        for notify in self._watchers.pop(chat_id, ()):
            notify()

    def watch(self, chat_id: int, after: int, notify: Callable[[], None]) -> bool:
        """Call `notify` (once, under the sandbox lock: it must not block) at the chat's next change; False,
        and nothing watched, when the chat changed after `after` already."""
        with self._lock:
            if self._chat_changes.get(chat_id, 0) > after:
                return False
            self._watchers.setdefault(chat_id, []).append(notify)
            return True

    def unwatch(self, chat_id: int, notify: Callable[[], None]) -> None:
        with self._lock:
            watching = self._watchers.get(chat_id, [])
            if notify in watching:
                watching.remove(notify)
            if not watching:
                self._watchers.pop(chat_id, None)

    # What users do.

    def open_private_chat(self, person: User) -> Chat:
        with self._lock:
            chat = self._chats.setdefault(person.id, Chat(person.as_private_chat()))
            # A new dict, not an update: messages already sent keep the chat as it was (and stay immutable).
            chat.info = person.as_private_chat()
            return chat

    def open_group(self, group_id: int, title: str) -> Chat:
        if group_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            return self._chats.setdefault(group_id, Chat({"id": group_id, "title": title, "type": "group"}))

    def add_user_message(
        self, chat: Chat, person: User, text: FormattedText | None, extra: JSON
    ) -> StoredMessage:
        with self._lock:
            message = chat.add(person.as_user(), from_bot=False, date=self.now())
            if text is not None:
                message.text, message.entities = text.text, text.entities
            message.extra = extra
            self._touch(message)
            return message

    def edit_user_message(
        self, chat_id: int, person: User, message_id: int, text: FormattedText
    ) -> StoredMessage:
        with self._lock:
            message = self.find(chat_id, message_id)
            if (
                message is None
                or message.from_bot
                or message.sender["id"] != person.id
                or message.text is None
            ):
                raise LookupError(f"no text message {message_id} of user {person.id} in chat {chat_id}")
            _remember_version(message)
            message.text, message.entities, message.edit_date = text.text, text.entities, self.now()
            self._touch(message)
            return message

    def set_blocked(self, person_id: int, blocked: bool) -> bool:
        """Block or unblock the bot; True when that changed anything."""
        with self._lock:
            was_blocked = person_id in self._blocked
            (self._blocked.add if blocked else self._blocked.discard)(person_id)
            return was_blocked != blocked

    def is_blocked(self, person_id: int) -> bool:
        with self._lock:
            return person_id in self._blocked

    # What the bot does.

    def chat_for_bot(self, chat_id: int | None, sending: bool = True) -> Chat:
        """The chat a bot method targets: 400 chat not found, 403 when the person blocked the bot."""
        with self._lock:
            chat = self._chats.get(chat_id) if chat_id is not None else None
            if chat is None:
                raise bad_request("chat not found")
            if sending and chat.info["type"] == "private" and chat.id in self._blocked:
                raise forbidden("bot was blocked by the user")
            return chat

    def add_bot_message(
        self, chat: Chat, text: FormattedText, markup: JSON | None, reply_to: Reply | None
    ) -> StoredMessage:
        with self._lock:
            replied = self._replied(chat, reply_to)
            message = chat.add(_bot_sender(self.bot_user), from_bot=True, date=self.now())
            message.text, message.entities, message.reply_to = text.text, text.entities, replied
            message.reply_markup = markup
            self._touch(message)
            return message

    def add_bot_media(self, chat: Chat, extra: JSON, markup: JSON | None) -> StoredMessage:
        """A message without text (a document, with its caption in `extra`)."""
        with self._lock:
            message = chat.add(_bot_sender(self.bot_user), from_bot=True, date=self.now())
            message.extra, message.reply_markup = extra, markup
            self._touch(message)
            return message

    def _replied(self, chat: Chat, reply_to: Reply | None) -> StoredMessage | None:
        if reply_to is None:
            return None
        replied = chat.messages.get(reply_to.message_id)
        if replied is not None and not replied.deleted:
            return replied
        if reply_to.tolerant:
            return None
        raise bad_request("message to be replied not found")

    def edit_bot_message(
        self, chat: Chat, message_id: int, text: FormattedText | None, markup: JSON | None
    ) -> StoredMessage:
        """Replace text (when given) and the inline keyboard (None removes it, as in Telegram)."""
        with self._lock:
            message = self._editable(chat, message_id, needs_text=text is not None)
            new_text = (message.text, message.entities) if text is None else (text.text, text.entities)
            if (*new_text, markup) == message.content():
                raise bad_request(NOT_MODIFIED)
            _remember_version(message)
            message.text, message.entities = new_text
            message.reply_markup, message.edit_date = markup, self.now()
            self._touch(message)
            return message

    def _editable(self, chat: Chat, message_id: int, needs_text: bool) -> StoredMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        if needs_text and message.text is None:
            raise bad_request("there is no text in the message to edit")
        return message

    def delete_message(self, chat: Chat, message_id: int) -> None:
        with self._lock:
            message = chat.messages.get(message_id)
            too_old = message is not None and self.now() - message.date > DELETE_WINDOW_SECONDS
            if message is None or message.deleted or too_old:
                raise bad_request("message to delete not found")
            message.deleted = True

    def set_reply_keyboard(self, chat: Chat, keyboard: JSON | None) -> None:
        with self._lock:
            chat.reply_keyboard = keyboard

    # Inspection.

    def find(self, chat_id: int, message_id: int) -> StoredMessage | None:
        with self._lock:
            chat = self._chats.get(chat_id)
            message = chat.messages.get(message_id) if chat else None
            return message if message is not None and not message.deleted else None

    def chat(self, chat_id: int) -> Chat | None:
        with self._lock:
            return self._chats.get(chat_id)

    def transcript(self, chat_id: int) -> JSON | None:
        """A chat as its members see it, for the control API."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                return None
            return {
                "chat": chat.info,
                "blocked": chat.id in self._blocked,
                "reply_keyboard": chat.reply_keyboard,
                "messages": [message.transcript_entry() for message in chat.visible()],
                "seq": self._changes,
            }


def _bot_sender(bot_user: JSON) -> JSON:
    return {name: bot_user[name] for name in ("id", "is_bot", "first_name", "username")}


def _remember_version(message: StoredMessage) -> None:
    version: JSON = {
        "text": message.text,
        "entities": message.entities,
        "date": message.edit_date or message.date,
    }
    if message.reply_markup is not None:
        version["reply_markup"] = message.reply_markup
    message.history.append(version)
