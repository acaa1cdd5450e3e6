"""parse_mode=MarkdownV2 and the legacy parse_mode=Markdown, following TDLib's parsers and error texts.

Supported in MarkdownV2: *bold*, _italic_, __underline__, ~strikethrough~, ||spoiler||, `code`,
```language pre```, [text](url), ![emoji](tg://emoji?id=N), `\\` escapes and `>` block quotes (the `**>`
expandable form is not recognised). Every reserved character outside an entity must be escaped, as in
Telegram: "Character '.' is reserved and must be escaped with the preceding '\\'".
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.telegram.text import EntityParseError, FormattedText, ParseCursor, make_entity, normalize_link

_RESERVED = "_*[]()~`>#+-=|{}.!"
_SPACES = " \t\r\n\v\0"
_CODE_KINDS = ("code", "pre")
_TDLIB_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_SIMPLE_OPENERS = {"*": "bold", "~": "strikethrough", "[": "text_link"}


def parse_markdown_v2(text: str) -> FormattedText:
    """MarkdownV2 to plain text and entities; EntityParseError on a syntax error."""
    return _MarkdownV2Parser(text).parse()


def parse_markdown(text: str) -> FormattedText:
    """Legacy Markdown (`*bold*`, `_italic_`, `code`, ```pre```, [text](url)) to plain text and entities."""
    return _LegacyParser(text).parse()


@dataclass
class _Open:
    kind: str
    argument: str
    utf16_start: int
    byte_offset: int
    result_start: int


class _Cursor(ParseCursor):
    """What both Markdown flavours share: links and the header of ``` blocks."""

    def add_link(self, start: int, result_start: int, url: str | None) -> None:
        """Close a [text](url) entity; without "(url)" the text itself is the link."""
        link = normalize_link("".join(self.out[result_start:]) if url is None else url)
        if link is not None and self.utf16 > start:
            self.entities.append(make_entity("text_link", start, self.utf16 - start, url=link))

    def skip_pre_header(self) -> str:
        """After an opening ```: read an optional language and skip one line break; return the language."""
        language = ""
        end = self.pos
        while self.char(end) not in _SPACES and self.char(end) != "`":
            end += 1
        if end != self.pos and end < len(self.text) and self.char(end) != "`":
            language, self.pos = self.text[self.pos : end], end
        if self.char(self.pos) in "\r\n":
            pair = self.char(self.pos + 1) in "\r\n" and self.char(self.pos) != self.char(self.pos + 1)
            self.pos += 2 if pair else 1
        return language


class _MarkdownV2Parser(_Cursor):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.open: list[_Open] = []
        self.quote_start: int | None = None

    def parse(self) -> FormattedText:
        while self.pos < len(self.text):
            self._step()
            self.pos += 1
        self._close_quote()
        if self.open:
            last = self.open[-1]
            raise EntityParseError(
                f"Can't find end of {_TDLIB_NAMES[last.kind]} entity at byte offset {last.byte_offset}"
            )
        return self.result()

    def _in_code(self) -> bool:
        return bool(self.open) and self.open[-1].kind in _CODE_KINDS

    def _step(self) -> None:
        char, following = self.text[self.pos], self.char(self.pos + 1)
        at_line_start = self.pos == 0 or self.text[self.pos - 1] == "\n"
        if at_line_start and not self._in_code() and self._quote_line(char):
            return
        if char == "\\" and "\0" < following <= "~":
            self.pos += 1
            self.emit(following)
            return
        reserved = "`" if self._in_code() else _RESERVED
        if char not in reserved:
            self.emit(char)
        elif self.open and self._closes(self.open[-1].kind, char):
            self._end(self.open.pop())
        else:
            self._begin(char)

    def _quote_line(self, char: str) -> bool:
        """At a line start: '>' opens or continues a block quote, anything else ends it."""
        if char == ">":
            if self.quote_start is None:
                self.quote_start = self.utf16
            return True
        self._close_quote()
        return False

    def _close_quote(self) -> None:
        if self.quote_start is None:
            return
        end = self.utf16 - (1 if self.out and self.out[-1] == "\n" else 0)
        if end > self.quote_start:
            self.entities.append(make_entity("blockquote", self.quote_start, end - self.quote_start))
        self.quote_start = None

    def _closes(self, kind: str, char: str) -> bool:
        following, third = self.char(self.pos + 1), self.char(self.pos + 2)
        closers = {
            "bold": char == "*",
            "italic": char == "_" and following != "_",
            "underline": char == "_" and following == "_",
            "strikethrough": char == "~",
            "spoiler": char == "|" and following == "|",
            "code": char == "`",
            "pre": char == "`" and following == "`" and third == "`",
            "text_link": char == "]",
            "custom_emoji": char == "]",
        }
        return closers[kind]

    def _begin(self, char: str) -> None:
        start = self.pos
        kind, argument = self._opener(char), ""
        if kind == "pre":
            self.pos += 3
            argument = self.skip_pre_header()
            self.pos -= 1
        self.open.append(_Open(kind, argument, self.utf16, self.byte_offset(start), len(self.out)))

    def _opener(self, char: str) -> str:
        following = self.char(self.pos + 1)
        if char in _SIMPLE_OPENERS:
            return _SIMPLE_OPENERS[char]
        if char == "_":
            self.pos += following == "_"
            return "underline" if following == "_" else "italic"
        if char == "`":
            return "pre" if following == "`" and self.char(self.pos + 2) == "`" else "code"
        if (char, following) in (("|", "|"), ("!", "[")):
            self.pos += 1
            return "spoiler" if char == "|" else "custom_emoji"
        raise EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")

    def _end(self, opened: _Open) -> None:
        if opened.kind in ("underline", "spoiler"):
            self.pos += 1
        elif opened.kind == "pre":
            self.pos += 2
        if opened.kind == "text_link":
            self.add_link(opened.utf16_start, opened.result_start, self._link_target())
        elif opened.kind == "custom_emoji":
            self._add_custom_emoji(opened)
        elif self.utf16 > opened.utf16_start:
            extra = {"language": opened.argument} if opened.argument else {}
            self.entities.append(
                make_entity(opened.kind, opened.utf16_start, self.utf16 - opened.utf16_start, **extra)
            )

    def _link_target(self) -> str | None:
        if self.char(self.pos + 1) != "(":
            return None
        self.pos += 2
        begin = self.pos
        url: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != ")":
            if self.text[self.pos] == "\\" and "\0" < self.char(self.pos + 1) <= "~":
                self.pos += 1
            url.append(self.text[self.pos])
            self.pos += 1
        if self.char(self.pos) != ")":
            raise EntityParseError(f"Can't find end of a URL at byte offset {self.byte_offset(begin)}")
        return "".join(url)

    def _add_custom_emoji(self, opened: _Open) -> None:
        if self.char(self.pos + 1) != "(":
            raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
        target = self._link_target() or ""
        emoji_id = target.removeprefix("tg://emoji?id=")
        if emoji_id == target or not emoji_id.isdigit():
            raise EntityParseError(f"Invalid custom emoji URL specified: {target}")
        length = self.utf16 - opened.utf16_start
        if length:
            entity = make_entity("custom_emoji", opened.utf16_start, length, custom_emoji_id=emoji_id)
            self.entities.append(entity)


class _LegacyParser(_Cursor):
    def parse(self) -> FormattedText:
        while self.pos < len(self.text):
            self._step()
            self.pos += 1
        return self.result()

    def _step(self) -> None:
        char = self.text[self.pos]
        if char == "\\" and self.char(self.pos + 1) in "_*`[":
            self.pos += 1
            self.emit(self.text[self.pos])
        elif char not in "_*`[":
            self.emit(char)
        else:
            self._entity(char)

    def _entity(self, char: str) -> None:
        begin, end_char = self.pos, "]" if char == "[" else char
        self.pos += 1
        is_pre = char == "`" and self.char(self.pos) == "`" and self.char(self.pos + 1) == "`"
        language = ""
        if is_pre:
            self.pos += 2
            language = self.skip_pre_header()
        start, result_start = self.utf16, len(self.out)
        while self.pos < len(self.text) and not self._at_end(end_char, is_pre):
            self.emit(self.text[self.pos])
            self.pos += 1
        if self.pos >= len(self.text):
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {self.byte_offset(begin)}"
            )
        self._add(char, start, result_start, language, is_pre)
        if is_pre:
            self.pos += 2

    def _at_end(self, end_char: str, is_pre: bool) -> bool:
        if is_pre:
            return self.text[self.pos : self.pos + 3] == "```"
        return self.text[self.pos] == end_char

    def _add(self, char: str, start: int, result_start: int, language: str, is_pre: bool) -> None:
        if char == "[":
            self.add_link(start, result_start, self._legacy_target())
            return
        if self.utf16 == start:
            return
        kind = {"_": "italic", "*": "bold"}.get(char, "pre" if is_pre else "code")
        extra = {"language": language} if language else {}
        self.entities.append(make_entity(kind, start, self.utf16 - start, **extra))

    def _legacy_target(self) -> str | None:
        if self.char(self.pos + 1) != "(":
            return None
        self.pos += 2
        url: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != ")":
            url.append(self.text[self.pos])
            self.pos += 1
        return "".join(url)
