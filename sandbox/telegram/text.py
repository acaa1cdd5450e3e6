"""Message text as the server stores it: trimmed, entities in UTF-16 code units, links normalized.

Like Telegram, the server also detects `bot_command`, `url`, `mention` and `hashtag` entities in any text
(but not inside code, pre or links). Bare domains (`example.com`) and e-mail addresses are not detected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

Entity = dict[str, Any]
_TRIMMED = " \t\n\r\v\f"
_NO_DETECTION_INSIDE = {"code", "pre", "text_link", "text_mention", "url"}
_AUTO_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@<>])")),
    ("url", re.compile(r"(?<![\w/@])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]")),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{3,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?!\d+(?!\w))\w{1,256}")),
)


class EntityParseError(Exception):
    """A parse-mode syntax error; the message is Telegram's, e.g. `Unsupported start tag "br" ...`."""


@dataclass(frozen=True)
class FormattedText:
    """Plain text plus its entities, as in a Message."""

    text: str
    entities: list[Entity] = field(default_factory=list)


class ParseCursor:
    """Shared state of the parse-mode parsers: source position, output so far and its UTF-16 length."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[Entity] = []

    def char(self, pos: int) -> str:
        """The source character at `pos`, or NUL past either end (as in TDLib's C strings)."""
        return self.text[pos] if 0 <= pos < len(self.text) else "\0"

    def byte_offset(self, pos: int) -> int:
        """UTF-8 byte offset of `pos`, the unit of Telegram's parse error messages."""
        return len(self.text[:pos].encode("utf-8"))

    def emit(self, char: str) -> None:
        self.out.append(char)
        self.utf16 += 2 if ord(char) > 0xFFFF else 1

    def result(self) -> FormattedText:
        return FormattedText("".join(self.out), self.entities)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets and of the 4096 limit."""
    return len(text.encode("utf-16-le")) // 2


def make_entity(kind: str, offset: int, length: int, **extra: Any) -> Entity:
    return {"type": kind, "offset": offset, "length": length, **extra}


def trimmed(formatted: FormattedText) -> FormattedText:
    """Strip leading/trailing whitespace like the server does, moving and clipping entities."""
    text = formatted.text
    stripped = text.strip(_TRIMMED)
    if stripped == text:
        return formatted
    lead = len(text) - len(text.lstrip(_TRIMMED))
    end = lead + utf16_len(stripped)
    entities = []
    for item in formatted.entities:
        start = max(item["offset"], lead)
        stop = min(item["offset"] + item["length"], end)
        if stop > start:
            entities.append({**item, "offset": start - lead, "length": stop - start})
    return FormattedText(stripped, entities)


def with_auto_entities(formatted: FormattedText) -> FormattedText:
    """Add the entities Telegram detects by itself, then sort as the server does."""
    protected = [e for e in formatted.entities if e["type"] in _NO_DETECTION_INSIDE]
    found = [e for e in detect_entities(formatted.text) if not _overlaps_any(e, protected)]
    entities = sorted(formatted.entities + found, key=lambda e: (e["offset"], -e["length"]))
    return FormattedText(formatted.text, entities)


def detect_entities(text: str) -> list[Entity]:
    """bot_command, url, mention and hashtag entities found in plain text."""
    found: list[Entity] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            candidate = make_entity(kind, utf16_len(text[: match.start()]), utf16_len(match.group(0)))
            if not _overlaps_any(candidate, found):
                found.append(candidate)
    return found


def _overlaps_any(entity: Entity, others: list[Entity]) -> bool:
    start, stop = entity["offset"], entity["offset"] + entity["length"]
    return any(start < o["offset"] + o["length"] and o["offset"] < stop for o in others)


_HTTP_SCHEMES = ("http", "https")
_OTHER_SCHEMES = ("tg", "ton", "tonsite")


def normalize_link(url: str) -> str | None:
    """The URL Telegram stores for a text_link, or None when it drops the link.

    A missing scheme means http, and a bare host gets a trailing slash ("example.com" -> "http://example.com/").
    """
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not url.lower().startswith(("tg:", "ton:", "tonsite:")):
        url = f"http://{url}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _OTHER_SCHEMES:
        return urlunsplit(parts._replace(scheme=scheme))
    if scheme not in _HTTP_SCHEMES or not parts.hostname or " " in url:
        return None
    return urlunsplit(parts._replace(scheme=scheme, path=parts.path or "/"))


def link_host(url: str) -> str:
    """The host part of an http(s) URL, lower-cased ("" when there is none)."""
    return (urlsplit(url).hostname or "").lower()
