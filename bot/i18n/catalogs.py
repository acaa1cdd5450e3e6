"""The translation catalogs: one gettext `.po` per language, compiled when first needed.

The bot compiles a `.po` itself (`compile_po`, the subset of the format the catalogs use, as Babel's
`read_po` + `write_mo` compile it; tests/unit/test_i18n.py compares the two on every catalog): Babel's
catalog modules cost about 1 MiB of imports and its `Catalog` another 2 MiB while compiling. Babel still
keeps the catalogs in step with the code (`python -m bot.i18n`, `bot.i18n.extract`).
"""

from __future__ import annotations

import array
import functools
import gettext
import io
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

LOCALES = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "ru")


class Plural(NamedTuple):
    """A text with plural forms: the English singular and plural, chosen by the value `count`."""

    one: str
    other: str


class InContext(str):
    """A text whose English is shared by another text of a different meaning (gettext's msgctxt)."""

    context: str


def N_(msgid: str) -> str:
    """Marks a text for extraction; it is translated when rendered, in the reader's language."""
    return msgid


def pN_(context: str, msgid: str) -> str:
    """`N_` for a text that needs a context to be told apart, e.g. the status "Done" from the button."""
    text = InContext(msgid)
    text.context = context
    return text


def catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def read_catalog(language: str) -> Catalog:
    """The language's catalog as Babel reads it (to update it from the code, and in tests)."""
    from babel.messages.pofile import read_po

    with catalog_path(language).open("rb") as file:
        return read_po(file, locale=language)


_ESCAPE = re.compile(r'\\([\\trn"])')
_ESCAPED = {"t": "\t", "r": "\r", "n": "\n"}


def _unquote(line: str) -> str:
    """A quoted `.po` string's text, unescaped as Babel does (backslash, tab, CR, LF and quote)."""
    return _ESCAPE.sub(lambda match: _ESCAPED.get(match.group(1), match.group(1)), line.strip()[1:-1])


def po_messages(text: str) -> dict[str, str]:
    """The translated messages of a `.po` file, keyed as in a `.mo` file: `context\\x04id`, plural
    forms as `id\\x00plural` to the forms joined with `\\x00`. Fuzzy and obsolete (`#~`) entries and
    untranslated singular ones are left out, as Babel's `write_mo` leaves them out; the header is kept."""
    messages: dict[str, str] = {}
    fields: dict[str, str] = {}
    fuzzy = False
    last = ""

    def finish() -> None:
        nonlocal fuzzy
        if "msgid" in fields and any(key.startswith("msgstr") for key in fields):
            key = fields["msgid"]
            if "msgid_plural" in fields:
                key += "\x00" + fields["msgid_plural"]
                forms = sorted(
                    (int(name[7:-1]), value) for name, value in fields.items() if name[:7] == "msgstr["
                )
                # An empty form falls back to the English singular (form 0) or plural, as in Babel.
                ids = (fields["msgid"], fields["msgid_plural"])
                value = "\x00".join(form or ids[min(index, 1)] for index, form in forms)
                wanted = True
            else:
                value = fields.get("msgstr", "")
                wanted = bool(value) or key == ""
            if "msgctxt" in fields:
                key = fields["msgctxt"] + "\x04" + key
            if wanted and (not fuzzy or key == ""):
                messages[key] = value
        fields.clear()
        fuzzy = False

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if any(key.startswith("msgstr") for key in fields):
                finish()
            if line.startswith("#,") and "fuzzy" in (flag.strip() for flag in line[2:].split(",")):
                fuzzy = True
            continue
        if line.startswith('"'):
            fields[last] += _unquote(line)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and any(key.startswith("msgstr") for key in fields):
            finish()
        last = keyword
        fields[keyword] = _unquote(rest)
    finish()
    return messages


def mo_bytes(messages: dict[str, str]) -> bytes:
    """A GNU `.mo` file of these messages (the layout of CPython's Tools/i18n/msgfmt.py)."""
    keys = sorted(messages, key=lambda key: key.encode())
    ids, strs, offsets = b"", b"", []
    for key in keys:
        encoded, value = key.encode(), messages[key].encode()
        offsets.append((len(ids), len(encoded), len(strs), len(value)))
        ids += encoded + b"\0"
        strs += value + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_offsets: list[int] = []
    value_offsets: list[int] = []
    for id_at, id_length, str_at, str_length in offsets:
        key_offsets += [id_length, id_at + key_start]
        value_offsets += [str_length, str_at + value_start]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    return header + array.array("i", key_offsets + value_offsets).tobytes() + ids + strs


def compile_po(path: Path) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(mo_bytes(po_messages(path.read_text(encoding="utf-8")))))


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's compiled catalog (English texts are the message ids, so English needs none)."""
    if language not in LANGUAGES or language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return compile_po(catalog_path(language))


def translate(language: str, msgid: str | Plural, count: int | None = None) -> str:
    """The template of `msgid` in `language`, with the plural form for `count` (Babel's rules)."""
    if isinstance(msgid, Plural):
        return translations(language).ngettext(msgid.one, msgid.other, count if count is not None else 0)
    if isinstance(msgid, InContext):
        return translations(language).pgettext(msgid.context, msgid)
    return translations(language).gettext(msgid)
