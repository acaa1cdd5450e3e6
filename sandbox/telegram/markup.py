"""reply_markup validation with the real server's error texts.

Inline buttons of kinds url, callback_data, web_app, login_url, copy_text and switch_inline_query* are
accepted; callback_game and pay buttons (games, invoices) are refused with BUTTON_TYPE_INVALID because
the sandbox has neither. An empty url or callback_data counts as absent, as in Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.telegram.errors import bad_request
from sandbox.telegram.text import link_host

MarkupKind = Literal["inline", "keyboard", "remove", "force_reply"]
MAX_CALLBACK_DATA_BYTES = 64
_BUTTON_KINDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_EMPTY_MEANS_ABSENT = ("url", "callback_data")
_UNSUPPORTED_KINDS = ("callback_game", "pay")
_KEPT_FIELDS = ("text", "icon_custom_emoji_id", "style")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\d)")
_BUTTON = "can't parse inline keyboard button"


@dataclass(frozen=True)
class ReplyMarkup:
    """A validated reply_markup; `value` is what Telegram stores and returns."""

    kind: MarkupKind
    value: dict[str, Any]


def parse_reply_markup(raw: Any) -> ReplyMarkup | None:
    """Validate a decoded reply_markup parameter (None when absent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("object expected as reply markup")
    if "inline_keyboard" in raw:
        return ReplyMarkup("inline", {"inline_keyboard": _inline_keyboard(raw["inline_keyboard"])})
    if "keyboard" in raw:
        return ReplyMarkup("keyboard", {**raw, "keyboard": _reply_keyboard(raw["keyboard"])})
    if raw.get("remove_keyboard"):
        return ReplyMarkup("remove", raw)
    if raw.get("force_reply"):
        return ReplyMarkup("force_reply", raw)
    raise bad_request("can't find reply keyboard markup")


def parse_inline_markup(raw: Any) -> dict[str, Any] | None:
    """For edit methods, where only an inline keyboard is allowed."""
    markup = parse_reply_markup(raw)
    if markup is None:
        return None
    if markup.kind != "inline":
        raise bad_request("inline keyboard expected")
    return markup.value


def _rows(rows: Any, field: str, owner: str) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'Field "{field}" of the {owner} must be an Array of Arrays')
    return rows


def _inline_keyboard(rows: Any) -> list[list[dict[str, Any]]]:
    checked = _rows(rows, "inline_keyboard", "InlineKeyboardMarkup")
    return [[_inline_button(button) for button in row] for row in checked]


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request(f"{_BUTTON}: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request(f'{_BUTTON}: Field "text" must be of type String')
    kinds = [kind for kind in _BUTTON_KINDS if _has_field(button, kind)]
    if not kinds:
        raise bad_request(f"{_BUTTON}: Text buttons are unallowed in the inline keyboard")
    if len(kinds) > 1:
        used = ", ".join(kinds)
        raise bad_request(f"{_BUTTON}: exactly one of the optional fields must be used, got {used}")
    _check_button(kinds[0], button[kinds[0]])
    kept = {name: button[name] for name in _KEPT_FIELDS if name in button}
    return {**kept, kinds[0]: button[kinds[0]]}


def _has_field(button: dict[str, Any], kind: str) -> bool:
    value = button.get(kind)
    return value is not None and not (kind in _EMPTY_MEANS_ABSENT and value == "")


def _check_button(kind: str, value: Any) -> None:
    if kind in _UNSUPPORTED_KINDS:
        raise bad_request("BUTTON_TYPE_INVALID")
    if kind == "callback_data":
        _check_callback_data(value)
    elif kind == "url":
        check_button_url(value)
    elif kind in ("web_app", "login_url"):
        _check_https_button(value)


def _check_callback_data(value: Any) -> None:
    if not isinstance(value, str) or len(value.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")


def check_button_url(url: Any) -> None:
    """http(s) with a dotted host, or tg://; anything else is refused like Telegram does."""
    if not isinstance(url, str):
        raise bad_request(f'{_BUTTON}: Field "url" must be of type String')
    scheme = _scheme(url)
    if scheme == "tg":
        return
    if scheme not in ("http", "https"):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol")
    host = link_host(url if "://" in url else f"http://{url}")
    if "." not in host:
        raise bad_request("BUTTON_URL_INVALID")


def _scheme(url: str) -> str:
    if "://" in url:
        return url.split("://", 1)[0].lower()
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else "http"


def _check_https_button(value: Any) -> None:
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or _scheme(url) != "https" or "." not in link_host(url):
        reason = "Only HTTPS links are allowed"
        raise bad_request(f"inline keyboard button Web App URL '{url}' is invalid: {reason}")


def _reply_keyboard(rows: Any) -> list[list[dict[str, Any]]]:
    checked = _rows(rows, "keyboard", "ReplyKeyboardMarkup")
    return [[_keyboard_button(button) for button in row] for row in checked]


def _keyboard_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        return {"text": button}
    if isinstance(button, dict) and isinstance(button.get("text"), str):
        return button
    raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")
