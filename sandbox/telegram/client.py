"""Synchronous clients of the Telegram sandbox's control API: a simulated person, and the test's own controls.

`TelegramUser` is what a person does in their Telegram app (type, press buttons, block the bot) and what
they see (the chat transcript). `TelegramControl` is everything else a test needs: injected faults, the
log of the bot's API calls, webhook state, the clock. Both talk HTTP, so the sandbox may run in-process
or in another process.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Unpack

import httpx

from sandbox.telegram.faults import FailOptions

JSON = dict[str, Any]
POLL_INTERVAL = 0.05


class TelegramSandboxError(Exception):
    """The control API refused a call: 400 bad parameters, 404 unknown chat, 409 not possible in Telegram."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Button:
    """An inline button; `url` is also set for Web App and login buttons."""

    text: str
    callback_data: str | None
    url: str | None


@dataclass
class SentMessage:
    """A message in a chat transcript, as a person sees it (current state, after edits)."""

    message_id: int
    from_bot: bool
    text: str
    entities: list[dict[str, Any]]
    buttons: list[list[Button]]
    edits: int
    date: int
    raw: JSON = field(default_factory=dict, repr=False)

    def button(self, label_substring: str) -> Button:
        """The button labelled exactly so, else the first whose label contains the text."""
        flat = [button for row in self.buttons for button in row]
        for matches in (
            [b for b in flat if b.text == label_substring],
            [b for b in flat if label_substring in b.text],
        ):
            if matches:
                return matches[0]
        labels = ", ".join(repr(button.text) for button in flat) or "none"
        raise LookupError(
            f"no button matching {label_substring!r} on message {self.message_id}; buttons: {labels}"
        )

    @classmethod
    def from_json(cls, data: JSON) -> SentMessage:
        rows = (data.get("reply_markup") or {}).get("inline_keyboard", [])
        return cls(
            message_id=data["message_id"],
            from_bot=data["from_bot"],
            text=data.get("text", ""),
            entities=data.get("entities", []),
            buttons=[[_button(item) for item in row] for row in rows],
            edits=data.get("edits", 0),
            date=data["date"],
            raw=data,
        )


@dataclass(frozen=True)
class CallbackAnswer:
    """What answerCallbackQuery showed the person: a toast, an alert, or a URL to open."""

    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class BotCall:
    """One Bot API request the bot made."""

    method: str
    params: JSON
    status: int
    description: str | None
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200


class ControlRequests(Protocol):
    """What a person's control calls can go through instead of a connection per call: an httpx.Client, or
    the benchmark's lighter kept connection (bench/customers.py). Its answer has httpx's `is_error`,
    `status_code`, `text` and `json()`."""

    def request(
        self, method: str, url: str, *, json: Any = None, params: Any = None, timeout: Any = None
    ) -> Any: ...


class _ControlHttp:
    """Every control call goes through `_call`; a connection is made per call unless a client is injected.

    Per-call connections leave no sockets open, so simulated people need no closing; the TLS context is
    kept because httpx would otherwise load the CA store on every call (~25 ms).
    """

    def __init__(self, sandbox_url: str, http: ControlRequests | None, timeout: float) -> None:
        self.url = sandbox_url.rstrip("/")
        self._http = http
        self._timeout = timeout
        self._tls: ssl.SSLContext | None = None

    def _call(self, verb: str, path: str, body: JSON | None = None, query: JSON | None = None) -> Any:
        params = {name: value for name, value in (query or {}).items() if value is not None}
        url = f"{self.url}/sandbox{path}"
        if self._http is not None:
            response = self._http.request(verb, url, json=body, params=params, timeout=self._timeout)
        else:
            self._tls = self._tls or ssl.create_default_context()
            with httpx.Client(verify=self._tls, timeout=self._timeout, trust_env=False) as http:
                response = http.request(verb, url, json=body, params=params)
        if response.is_error:
            message = f"{verb} /sandbox{path}: {response.status_code} {response.text}"
            raise TelegramSandboxError(message, response.status_code)
        return response.json()


class TelegramUser(_ControlHttp):
    """One simulated person and their private chat with the bot."""

    def __init__(
        self,
        sandbox_url: str,
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str = "en",
        http: ControlRequests | None = None,
    ) -> None:
        super().__init__(sandbox_url, http, timeout=30.0)
        self.user_id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code
        self._last_query_id: str | None = None
        self._since = 0  # the sandbox's change counter at this person's last action

    def _act(self, path: str, body: JSON) -> JSON:
        """Do something in the app; remember when, so `wait_for` looks only at what the bot did since."""
        answer: JSON = self._call("POST", path, {"user": self.profile, **body})
        self._since = answer["seq"]
        return answer

    @property
    def profile(self) -> JSON:
        profile: JSON = {
            "id": self.user_id,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        return {**profile, "username": self.username} if self.username else profile

    # Doing things

    def send(self, text: str) -> int:
        """Type a message in the private chat; returns its message_id."""
        message_id: int = self._act("/send", {"text": text})["message_id"]
        return message_id

    def send_in_group(self, group_id: int, text: str) -> int:
        """Write in a group chat (negative id) that the bot is a member of."""
        message_id: int = self._act("/send", {"text": text, "group_id": group_id})["message_id"]
        return message_id

    def send_sticker(self) -> None:
        """Send a sticker: a message without text."""
        self._act("/sticker", {})

    def edit(self, message_id: int, new_text: str) -> None:
        """Edit one of the person's own messages (the bot gets an edited_message update)."""
        self._act("/edit", {"message_id": message_id, "text": new_text})

    def press(self, message: SentMessage | int, label_substring: str) -> str | None:
        """Press an inline button: None for a callback button, the URL for a URL button."""
        message_id = message.message_id if isinstance(message, SentMessage) else message
        try:
            pressed = self._act("/press", {"message_id": message_id, "label": label_substring})
        except TelegramSandboxError as exc:
            if exc.status == 409:  # no such button (or message) in this chat
                raise LookupError(str(exc)) from exc
            raise
        if pressed["callback_query_id"] is not None:
            self._last_query_id = pressed["callback_query_id"]
            return None
        url: str = pressed["url"]
        return url

    def press_data(self, message_id: int, data: str) -> None:
        """A forged press: any callback data on any message id, as a modified client could send."""
        self._last_query_id = self._act("/press", {"message_id": message_id, "data": data})[
            "callback_query_id"
        ]

    def download(self, message: SentMessage | int) -> bytes:
        """The bytes of a document the bot sent into this chat, as the person's app opens it."""
        message_id = message.message_id if isinstance(message, SentMessage) else message
        url = f"{self.url}/sandbox/chats/{self.user_id}/messages/{message_id}/document"
        self._tls = self._tls or ssl.create_default_context()
        with httpx.Client(verify=self._tls, timeout=self._timeout, trust_env=False) as http:
            response = http.get(url)
        if response.is_error:
            raise TelegramSandboxError(
                f"GET {url}: {response.status_code} {response.text}", response.status_code
            )
        return response.content

    def block_bot(self) -> None:
        self._act("/block", {"blocked": True})

    def unblock_bot(self) -> None:
        self._act("/block", {"blocked": False})

    # Seeing things

    def messages(self) -> list[SentMessage]:
        """The private chat, oldest first, including the person's own messages."""
        try:
            chat = self._call("GET", f"/chats/{self.user_id}")
        except TelegramSandboxError as exc:
            if exc.status == 404:  # the person never wrote to the bot
                return []
            raise
        return [SentMessage.from_json(item) for item in chat["messages"]]

    def bot_messages(self) -> list[SentMessage]:
        return [message for message in self.messages() if message.from_bot]

    def changes_after(self, seq: int, wait: float) -> tuple[list[SentMessage], int]:
        """The private chat once something in it was sent or edited after `seq` (a `seq` an action or this
        returned), or after `wait` seconds; with the emulator's `seq` now, to wait for the next change."""
        try:
            chat = self._call("GET", f"/chats/{self.user_id}", query={"after": seq, "wait": wait})
        except TelegramSandboxError as exc:
            if exc.status == 404:  # the person never wrote to the bot
                return [], seq
            raise
        return [SentMessage.from_json(item) for item in chat["messages"]], int(chat["seq"])

    def last(self) -> SentMessage:
        """The bot's latest message."""
        sent = self.bot_messages()
        if not sent:
            raise LookupError(f"the bot has not written to {self.first_name} yet")
        return sent[-1]

    def wait_for(
        self, predicate: Callable[[SentMessage], bool], timeout: float = 10.0, description: str = ""
    ) -> SentMessage:
        """The newest bot message sent or edited since this person's last action that satisfies `predicate`.

        Only what changed after the last send/press/edit/block counts, so waiting for the reply to an action
        never returns an older message with the same text. Polls until `timeout`, then fails with the chat.
        """
        deadline = time.monotonic() + timeout
        while True:
            bot_messages = self.bot_messages()
            fresh = [message for message in bot_messages if message.raw.get("seq", 0) > self._since]
            found = next((message for message in reversed(fresh) if predicate(message)), None)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(self._nothing_came(bot_messages, predicate, timeout, description))
            time.sleep(POLL_INTERVAL)

    def _nothing_came(
        self,
        bot_messages: list[SentMessage],
        predicate: Callable[[SentMessage], bool],
        timeout: float,
        wanted: str,
    ) -> str:
        older = [message.message_id for message in bot_messages if predicate(message)]
        note = f" (message {older[-1]}, from before the last action, matches)" if older else ""
        wanted = wanted or "matching bot message"
        return f"no new {wanted} within {timeout:g}s{note}. Chat with {self.first_name}:\n{self.transcript()}"

    def wait_for_text(self, substring: str, timeout: float = 10.0) -> SentMessage:
        return self.wait_for(
            lambda message: substring in message.text, timeout, f"bot message containing {substring!r}"
        )

    def callback_answer(self, timeout: float = 2.0) -> CallbackAnswer | None:
        """What the bot answered to this person's last press; None if it did not answer within `timeout`."""
        if self._last_query_id is None:
            raise LookupError(f"{self.first_name} has not pressed any button")
        deadline = time.monotonic() + timeout
        while True:
            query = self._call("GET", f"/callback_queries/{self._last_query_id}")
            answer = query["answer"]
            if answer is not None:
                return CallbackAnswer(answer["text"], answer["show_alert"], answer["url"])
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_INTERVAL)

    def commands(self) -> list[tuple[str, str]]:
        """The command menu this person's private chat shows (chat, then all private chats, then default)."""
        menu = self._call(
            "GET", f"/chats/{self.user_id}/commands", query={"language_code": self.language_code}
        )
        return [(item["command"], item["description"]) for item in menu["commands"]]

    def reply_keyboard(self) -> list[list[str]] | None:
        """The labels of the reply keyboard the bot last set in this chat (None when removed or never set)."""
        try:
            keyboard = self._call("GET", f"/chats/{self.user_id}")["reply_keyboard"]
        except TelegramSandboxError as exc:
            if exc.status == 404:
                return None
            raise
        return (
            None if keyboard is None else [[button["text"] for button in row] for row in keyboard["keyboard"]]
        )

    def transcript(self) -> str:
        return render_transcript(self.messages())


class TelegramControl(_ControlHttp):
    """The test's side of the sandbox: faults, the bot's call log, webhook state, settings, the clock."""

    def __init__(self, sandbox_url: str, timeout: float = 30.0) -> None:
        self._own_http = httpx.Client(timeout=timeout, trust_env=False)
        super().__init__(sandbox_url, self._own_http, timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._own_http.close()

    def __enter__(self) -> TelegramControl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def fail_next(self, method: str, status: int = 429, **options: Unpack[FailOptions]) -> None:
        """The next `count` calls of `method` ("*" = any) fail with `status` (429 carries retry_after);
        `commit`: each call takes effect first, and only its answer is the error."""
        self._call("POST", "/faults", {"fail_next": {"method": method, "status": status, **options}})

    def set_flood_limit(self, max_messages: int | None, per_seconds: float = 1.0) -> None:
        """429 once a chat gets more than `max_messages` sends within `per_seconds`; None turns it off."""
        limit = None if max_messages is None else {"max_messages": max_messages, "per_seconds": per_seconds}
        self._call("POST", "/faults", {"flood_limit": limit})

    def set_overall_limit(self, max_messages: int | None, per_seconds: float = 1.0) -> None:
        """429 once all chats together get more than `max_messages` sends within `per_seconds`; None: off."""
        limit = None if max_messages is None else {"max_messages": max_messages, "per_seconds": per_seconds}
        self._call("POST", "/faults", {"overall_limit": limit})

    def set_delay(self, seconds: float, method: str = "*") -> None:
        """Answer `method` (or every method) only after `seconds`."""
        self._call("POST", "/faults", {"delay": {"seconds": seconds, "method": method}})

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def calls(self, method: str | None = None) -> list[BotCall]:
        """The Bot API calls the bot made, oldest first (method names compare case-insensitively)."""
        return [BotCall(**item) for item in self._call("GET", "/calls", query={"method": method})["calls"]]

    def clear_calls(self) -> None:
        self._call("DELETE", "/calls")

    def webhook(self) -> JSON:
        """getWebhookInfo (`info`), the secret token, and every delivery attempt so far."""
        webhook: JSON = self._call("GET", "/webhook")
        return webhook

    def updates(self) -> list[JSON]:
        """Every update the sandbox created for the bot (delivered or not)."""
        updates: list[JSON] = self._call("GET", "/updates")["updates"]
        return updates

    def chat(self, chat_id: int) -> list[SentMessage]:
        """Any chat's transcript (private or group)."""
        return [SentMessage.from_json(item) for item in self._call("GET", f"/chats/{chat_id}")["messages"]]

    def commands_for(self, chat_id: int, language_code: str = "") -> list[tuple[str, str]]:
        menu = self._call("GET", f"/chats/{chat_id}/commands", query={"language_code": language_code})
        return [(item["command"], item["description"]) for item in menu["commands"]]

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's clock forward (message ages, callback answer windows, flood windows)."""
        self._call("POST", "/clock", {"seconds": seconds})

    def configure(self, **settings: Any) -> JSON:
        """Change settings: callback_answer_window, privacy_mode, busy_loop_guard, webhook_retry={...}."""
        config: JSON = self._call("POST", "/config", settings)
        return config

    def bot(self) -> JSON:
        """The bot's User object, as getMe returns it."""
        user: JSON = self._call("GET", "/bot")["user"]
        return user


def render_transcript(messages: list[SentMessage]) -> str:
    """A readable chat dump: `bot: text`, its buttons as `[Label]` or `[Label](url)`, `user: text`."""
    lines: list[str] = []
    for message in messages:
        who = "bot" if message.from_bot else "user"
        edited = f" (edited {message.edits}x)" if message.edits else ""
        document = message.raw.get("document")
        body = message.text or ("[sticker]" if "sticker" in message.raw else "[no text]")
        if document:
            body = f"[file {document.get('file_name')}] {message.raw.get('caption', '')}".rstrip()
        lines.append(f"{who}{edited}: " + body.replace("\n", "\n     "))
        for row in message.buttons:
            lines.append("  " + " ".join(_render_button(button) for button in row))
    return "\n".join(lines) or "(no messages)"


def _render_button(button: Button) -> str:
    return f"[{button.text}]({button.url})" if button.url else f"[{button.text}]"


def _button(item: JSON) -> Button:
    url = (
        item.get("url") or (item.get("web_app") or {}).get("url") or (item.get("login_url") or {}).get("url")
    )
    return Button(text=item["text"], callback_data=item.get("callback_data"), url=url)
