"""Bot API methods about messages, buttons and commands: getMe, sendMessage, edits, deletes, answers."""

from __future__ import annotations

from typing import Any

from sandbox.telegram.bot_api import Handler, MethodCall
from sandbox.telegram.commands import ScopeKey, parse_commands, parse_scope
from sandbox.telegram.errors import bad_request
from sandbox.telegram.markup import parse_inline_markup, parse_reply_markup
from sandbox.telegram.params import Params
from sandbox.telegram.parse_mode import check_message_text, format_text
from sandbox.telegram.state import SandboxState
from sandbox.telegram.text import FormattedText
from sandbox.telegram.world import Chat, Reply

CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)  # fmt: skip


class MessageMethods:
    """The methods a booking bot uses to talk: each validates like Telegram, then changes the world."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def handlers(self) -> dict[str, Handler]:
        return {
            "getMe": self.get_me,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "sendChatAction": self.send_chat_action,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
        }

    async def get_me(self, call: MethodCall) -> Any:
        return self._state.bot_user

    async def send_message(self, call: MethodCall) -> Any:
        params = call.params
        formatted = _message_text(params)
        markup = parse_reply_markup(
            params.json("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        chat = self._state.world.chat_for_bot(_chat_id(params))
        check_message_text(formatted)
        self._state.faults.check_flood(chat.id)
        inline = markup.value if markup is not None and markup.kind == "inline" else None
        message = self._state.world.add_bot_message(chat, formatted, inline, _reply_to(params))
        if markup is not None and markup.kind in ("keyboard", "remove"):
            self._state.world.set_reply_keyboard(chat, markup.value if markup.kind == "keyboard" else None)
        return message.as_message()

    async def edit_message_text(self, call: MethodCall) -> Any:
        formatted = _message_text(call.params)
        return self._edit(call.params, formatted)

    async def edit_message_reply_markup(self, call: MethodCall) -> Any:
        return self._edit(call.params, None)

    def _edit(self, params: Params, formatted: FormattedText | None) -> Any:
        markup = parse_inline_markup(
            params.json("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        chat_id, message_id = _edited_message(params)
        chat = self._state.world.chat_for_bot(chat_id)
        if formatted is not None:
            check_message_text(formatted)
        self._state.faults.check_flood(chat.id)
        return self._state.world.edit_bot_message(chat, message_id, formatted, markup).as_message()

    async def delete_message(self, call: MethodCall) -> Any:
        chat = self._state.world.chat_for_bot(_chat_id(call.params), sending=False)
        message_id = call.params.optional_int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        self._state.world.delete_message(chat, message_id)
        return True

    async def send_chat_action(self, call: MethodCall) -> Any:
        self._state.world.chat_for_bot(_chat_id(call.params))
        if call.params.text("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def answer_callback_query(self, call: MethodCall) -> Any:
        params = call.params
        query_id = params.text("callback_query_id") or ""
        answer_text = params.text("text")
        self._state.callbacks.answer(query_id, answer_text, params.boolean("show_alert"), params.text("url"))
        return True

    async def set_my_commands(self, call: MethodCall) -> Any:
        commands = parse_commands(call.params.json("commands", "can't parse commands JSON object"))
        self._state.commands.set(self._scope(call.params), _language(call.params), commands)
        return True

    async def get_my_commands(self, call: MethodCall) -> Any:
        return self._state.commands.get(self._scope(call.params), _language(call.params))

    async def delete_my_commands(self, call: MethodCall) -> Any:
        self._state.commands.delete(self._scope(call.params), _language(call.params))
        return True

    def _scope(self, params: Params) -> ScopeKey:
        return parse_scope(params.json("scope", "can't parse BotCommandScope JSON object"), self._chat_type)

    def _chat_type(self, chat_id: int) -> str | None:
        chat: Chat | None = self._state.world.chat(chat_id)
        return None if chat is None else str(chat.info["type"])


def _message_text(params: Params) -> FormattedText:
    text = params.text("text")
    if not text:
        raise bad_request("message text is empty")
    entities = params.json("entities", "can't parse entities JSON object")
    return format_text(text, params.text("parse_mode"), entities)


def _chat_id(params: Params) -> int | None:
    """The target chat; "@channelname" ids name no chat the sandbox has."""
    raw = params.text("chat_id")
    if not raw:
        raise bad_request("chat_id is empty")
    return params.optional_int("chat_id")


def _edited_message(params: Params) -> tuple[int | None, int]:
    if "inline_message_id" in params:
        raise bad_request("MESSAGE_ID_INVALID")  # the sandbox has no inline messages
    message_id = params.optional_int("message_id")
    if "chat_id" not in params or message_id is None:
        raise bad_request("message identifier is not specified")
    return _chat_id(params), message_id


def _reply_to(params: Params) -> Reply | None:
    """reply_parameters, or the older reply_to_message_id + allow_sending_without_reply."""
    reply = params.json("reply_parameters", "can't parse reply parameters JSON object")
    if isinstance(reply, dict):
        message_id, tolerant = reply.get("message_id"), bool(reply.get("allow_sending_without_reply"))
    else:
        message_id = params.optional_int("reply_to_message_id")
        tolerant = params.boolean("allow_sending_without_reply")
    return Reply(message_id, tolerant) if isinstance(message_id, int) else None


def _language(params: Params) -> str:
    """A two-letter ISO 639-1 code, or empty for every language without its own menu."""
    code = params.text("language_code") or ""
    if code and not (len(code) == 2 and code.isascii() and code.isalpha() and code.islower()):
        raise bad_request("invalid language code specified")
    return code
