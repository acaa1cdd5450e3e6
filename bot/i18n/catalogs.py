"""The translation catalogs: one gettext `.po` per language, compiled with Babel when first needed."""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path
from typing import NamedTuple

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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
    with catalog_path(language).open("rb") as file:
        return read_po(file, locale=language)


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's compiled catalog (English texts are the message ids, so English needs none)."""
    if language not in LANGUAGES or language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(language))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(language: str, msgid: str | Plural, count: int | None = None) -> str:
    """The template of `msgid` in `language`, with the plural form for `count` (Babel's rules)."""
    if isinstance(msgid, Plural):
        return translations(language).ngettext(msgid.one, msgid.other, count if count is not None else 0)
    if isinstance(msgid, InContext):
        return translations(language).pgettext(msgid.context, msgid)
    return translations(language).gettext(msgid)
