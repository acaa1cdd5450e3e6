"""parse_mode=HTML, following TDLib's parser: the same tags, the same entity decoding, the same errors.

Byte offsets in error messages count UTF-8 bytes of the original text, entity offsets count UTF-16 code
units of the result. As in Telegram, an `&` that does not start a known entity (`&lt;`, `&gt;`, `&amp;`,
`&quot;`, `&#NN;`, `&#xHH;`) is kept literally; an unescaped `<` always starts a tag and is an error unless
the tag is supported.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.telegram.text import EntityParseError, FormattedText, ParseCursor, make_entity, normalize_link

_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SUPPORTED_TAGS = frozenset(_SIMPLE_TYPES) | {"a", "tg-emoji", "pre", "code", "blockquote"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\v\0"


def parse_html(text: str) -> FormattedText:
    """Turn Telegram-flavoured HTML into plain text and entities; EntityParseError on bad markup."""
    return _HtmlParser(text).parse()


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int
    result_start: int


class _HtmlParser(ParseCursor):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.open: list[_OpenTag] = []

    def parse(self) -> FormattedText:
        while self.pos < len(self.text):
            self._step()
        if self.open:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.open[-1].name}"')
        return self.result()

    def _step(self) -> None:
        char = self.text[self.pos]
        if char == "&":
            decoded = _decode_entity(self.text, self.pos)
            if decoded is not None:
                self.emit(decoded[0])
                self.pos = decoded[1]
                return
        if char != "<":
            self.emit(char)
            self.pos += 1
        elif self.char(self.pos + 1) == "/":
            self._end_tag()
        else:
            self._start_tag()

    def _start_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        name_start = self.pos
        while self.char(self.pos) not in _SPACES and self.char(self.pos) != ">":
            self.pos += 1
        if self.pos >= len(self.text):
            raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = self.text[name_start : self.pos].lower()
        if name not in _SUPPORTED_TAGS:
            offset = self.byte_offset(begin)
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        argument = self._attributes(name, begin)
        self.pos += 1  # the closing '>'
        if name == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        self.open.append(_OpenTag(name, argument, self.utf16, len(self.out)))

    def _attributes(self, tag: str, begin: int) -> str:
        argument = ""
        while self.char(self.pos) != ">":
            while self.pos < len(self.text) and self.char(self.pos) in _SPACES:
                self.pos += 1
            if self.char(self.pos) == ">":
                break
            name, value = self._attribute(tag, begin)
            argument = _tag_argument(tag, name, value, argument)
        return argument

    def _attribute(self, tag: str, begin: int) -> tuple[str, str | None]:
        name_start = self.pos
        while self.char(self.pos) not in _SPACES and self.char(self.pos) not in "=>":
            self.pos += 1
        name = self.text[name_start : self.pos]
        offset = self.byte_offset(begin)
        if not name:
            raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
        while self.pos < len(self.text) and self.char(self.pos) in _SPACES:
            self.pos += 1
        if self.char(self.pos) != "=":
            if tag == "blockquote" and name == "expandable":
                return name, None
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {offset}"
            )
        self.pos += 1
        while self.pos < len(self.text) and self.char(self.pos) in _SPACES:
            self.pos += 1
        if self.pos >= len(self.text):
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {offset}')
        value = self._attribute_value()
        if self.pos >= len(self.text):
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        return name, value

    def _attribute_value(self) -> str:
        quote = self.char(self.pos)
        if quote not in "'\"":
            start = self.pos
            while self.char(self.pos).isalnum() or self.char(self.pos) in ".-":
                self.pos += 1
            if self.char(self.pos) not in _SPACES and self.char(self.pos) != ">":
                offset = self.byte_offset(start)
                raise EntityParseError(f"Unexpected end of name token at byte offset {offset}")
            return self.text[start : self.pos].lower()
        self.pos += 1
        value: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            decoded = _decode_entity(self.text, self.pos) if self.text[self.pos] == "&" else None
            if decoded is None:
                value.append(self.text[self.pos])
                self.pos += 1
            else:
                value.append(decoded[0])
                self.pos = decoded[1]
        if self.char(self.pos) == quote:
            self.pos += 1
        return "".join(value)

    def _end_tag(self) -> None:
        begin = self.pos
        if not self.open:
            raise EntityParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        self.pos += 2
        name_start = self.pos
        while self.char(self.pos) not in _SPACES and self.char(self.pos) != ">":
            self.pos += 1
        end_name = self.text[name_start : self.pos].lower()
        while self.pos < len(self.text) and self.char(self.pos) in _SPACES:
            self.pos += 1
        if self.char(self.pos) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        self.pos += 1
        opened = self.open.pop()
        if end_name and end_name != opened.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{opened.name}>", found "</{end_name}>"'
            )
        if self.utf16 > opened.utf16_start:
            self._close(opened)

    def _close(self, opened: _OpenTag) -> None:
        start, length = opened.utf16_start, self.utf16 - opened.utf16_start
        if opened.name in _SIMPLE_TYPES:
            self.entities.append(make_entity(_SIMPLE_TYPES[opened.name], start, length))
        elif opened.name == "a":
            url = normalize_link(opened.argument or "".join(self.out[opened.result_start :]))
            if url is not None:
                self.entities.append(make_entity("text_link", start, length, url=url))
        elif opened.name == "blockquote":
            kind = "expandable_blockquote" if opened.argument == "expandable" else "blockquote"
            self.entities.append(make_entity(kind, start, length))
        elif opened.name == "tg-emoji":
            self.entities.append(make_entity("custom_emoji", start, length, custom_emoji_id=opened.argument))
        else:
            self._close_code(opened.name, opened.argument, start, length)

    def _close_code(self, name: str, argument: str, start: int, length: int) -> None:
        # <pre><code class="language-x">...</code></pre> is one `pre` entity with a language.
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and last["offset"] == start and last["length"] == length
        if name == "pre" and same_span and last is not None and last["type"] == "code":
            language = last.pop("language", "")
            last["type"] = "pre"
            if language:
                last["language"] = language
        elif name == "pre":
            self.entities.append(make_entity("pre", start, length))
        elif argument:
            self.entities.append(make_entity("code", start, length, language=argument))
        else:
            self.entities.append(make_entity("code", start, length))


def _tag_argument(tag: str, name: str, value: str | None, current: str) -> str:
    if value is None:
        return "expandable"
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return current


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode an HTML entity at `pos` (which holds '&'): (character, position after it) or None."""
    end = pos + 1
    if text[end : end + 1] == "#":
        end += 1
        hexadecimal = text[end : end + 1] == "x"
        end += hexadecimal
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while end < len(text) and text[end] in digits:
            end += 1
        number = text[pos + 2 + hexadecimal : end]
        code = int(number, 16 if hexadecimal else 10) if number else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    return char, end + 1 if text[end : end + 1] == ";" else end
