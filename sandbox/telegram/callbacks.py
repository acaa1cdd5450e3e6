"""Callback queries (button presses) and what the bot answered to each of them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sandbox.clock import Clock
from sandbox.telegram.errors import bad_request

MAX_ANSWER_TEXT = 200
TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_FIRST_QUERY_ID = 4_270_000_000_000_000_001


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answer: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answer is not None,
            "answer": self.answer,
        }


class CallbackQueries:
    """Each press gets an id; it can be answered once, within `answer_window` seconds of the press."""

    def __init__(self, clock: Clock, lock: threading.RLock, answer_window: float = 15.0) -> None:
        self._clock = clock
        self._lock = lock
        self.answer_window = answer_window
        self._queries: dict[str, CallbackQuery] = {}
        self._next_id = _FIRST_QUERY_ID

    def create(self, user_id: int, chat_id: int, message_id: int, data: str) -> CallbackQuery:
        with self._lock:
            query = CallbackQuery(str(self._next_id), user_id, chat_id, message_id, data, self._clock.time())
            self._next_id += 1
            self._queries[query.id] = query
            return query

    def answer(self, query_id: str, text: str | None, show_alert: bool, url: str | None) -> None:
        """answerCallbackQuery: 400 for unknown, late or repeated answers."""
        if text is not None and len(text) > MAX_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            query = self._queries.get(query_id)
            late = query is not None and self._clock.time() - query.created_at > self.answer_window
            if query is None or query.answer is not None or late:
                raise bad_request(TOO_OLD)
            query.answer = {"text": text, "show_alert": show_alert, "url": url, "at": self._clock.time()}

    def get(self, query_id: str) -> CallbackQuery | None:
        with self._lock:
            return self._queries.get(query_id)

    def chat_instance(self, chat_id: int) -> str:
        """A stable opaque id of the chat, like Telegram's `chat_instance`."""
        return str(-((chat_id * 2_654_435_761 + 97) % 9_000_000_000_000_000_000) - 1)
