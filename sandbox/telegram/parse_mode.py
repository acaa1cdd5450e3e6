"""From the `text`, `parse_mode` and `entities` parameters to the stored message text, or a 400."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.telegram.errors import bad_request
from sandbox.telegram.html import parse_html
from sandbox.telegram.markdown import parse_markdown, parse_markdown_v2
from sandbox.telegram.text import (
    Entity,
    EntityParseError,
    FormattedText,
    trimmed,
    utf16_len,
    with_auto_entities,
)

MAX_TEXT_UTF16 = 4096
_PARSERS: dict[str, Callable[[str], FormattedText]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
}


def format_text(text: str, parse_mode: str | None, entities: Any = None) -> FormattedText:
    """Apply `parse_mode` (or explicit `entities`), trim, detect automatic entities; 400 on bad markup."""
    parsed = _parse(text, (parse_mode or "").strip().lower(), entities)
    return with_auto_entities(trimmed(parsed))


def check_message_text(formatted: FormattedText) -> None:
    """The limits sendMessage and editMessageText apply after parsing."""
    if not formatted.text:
        raise bad_request("message text is empty")
    if utf16_len(formatted.text) > MAX_TEXT_UTF16:
        raise bad_request("message is too long")


def _parse(text: str, parse_mode: str, entities: Any) -> FormattedText:
    # The real server ignores parse_mode when explicit entities are given.
    if entities is not None:
        return FormattedText(text, _explicit_entities(entities))
    if parse_mode == "":
        return FormattedText(text)
    parser = _PARSERS.get(parse_mode)
    if parser is None:
        raise bad_request("unsupported parse_mode")
    try:
        return parser(text)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from exc


def _explicit_entities(entities: Any) -> list[Entity]:
    if not isinstance(entities, list) or not all(isinstance(item, dict) for item in entities):
        raise bad_request("can't parse entities JSON object")
    return [dict(item) for item in entities if _is_well_formed(item)]


def _is_well_formed(item: dict[str, Any]) -> bool:
    offset, length = item.get("offset"), item.get("length")
    return (
        isinstance(item.get("type"), str)
        and isinstance(offset, int)
        and isinstance(length, int)
        and offset >= 0
        and length > 0
    )
