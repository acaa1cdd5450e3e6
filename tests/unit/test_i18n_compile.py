"""The bot compiles its `.po` catalogs itself, to what Babel's `read_po` + `write_mo` make of them."""

from __future__ import annotations

import gettext
import io
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import i18n
from bot.i18n.catalogs import catalog_path, compile_po

SAMPLE = r"""# A catalog with what the format allows and ours may use.
msgid ""
msgstr ""
"Language: ru\n"
"Plural-Forms: nplurals=3; plural=n % 10 == 1 && n % 100 != 11 ? 0 : n % 10 >= 2 && n % 10 <= 4 && (n % 100 "
"< 12 || n % 100 > 14) ? 1 : 2;\n"
"Content-Type: text/plain; charset=utf-8\n"

#: bot/texts.py:1
#, python-brace-format
msgid "Hello {name}"
msgstr "Привет, {name}"

msgid ""
"Two lines,\n"
"with a \"quote\", a\ttab and a \\ backslash"
msgstr ""
"Две строки,\n"
"с \"кавычками\", \tтабуляцией и \\ обратной чертой"

#, fuzzy
msgid "Not sure yet"
msgstr "Ещё не уверен"

msgid "Not translated"
msgstr ""

msgctxt "order status"
msgid "Done"
msgstr "Выполнен"

msgctxt "button"
msgid "Done"
msgstr "Готово"

msgid "{count} day"
msgid_plural "{count} days"
msgstr[0] "{count} день"
msgstr[1] "{count} дня"
msgstr[2] "{count} дней"

msgid "{count} hour"
msgid_plural "{count} hours"
msgstr[0] ""
msgstr[1] ""
msgstr[2] ""

#~ msgid "Gone"
#~ msgstr "Ушло"
"""


def by_babel(path: Path) -> gettext.GNUTranslations:
    compiled = io.BytesIO()
    with path.open("rb") as file:
        write_mo(compiled, read_po(file, locale="ru"))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def assert_same(ours: gettext.GNUTranslations, babel: gettext.GNUTranslations) -> None:
    # The header is Babel's own rewrite of it; what gettext takes from it (charset, plural rule) must match.
    assert {k: v for k, v in ours._catalog.items() if k != ""} == {  # type: ignore[attr-defined]
        k: v
        for k, v in babel._catalog.items()  # type: ignore[attr-defined]
        if k != ""
    }
    assert ours.charset() == babel.charset()
    assert [ours.ngettext("a", "b", n) for n in range(300)] == [
        babel.ngettext("a", "b", n) for n in range(300)
    ]


@pytest.mark.parametrize("language", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_each_catalog_compiles_as_babel_compiles_it(language: str) -> None:
    assert_same(compile_po(catalog_path(language)), by_babel(catalog_path(language)))


def test_escapes_context_plurals_fuzzy_and_obsolete_entries_compile_as_babel_compiles_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "messages.po"
    path.write_text(SAMPLE, encoding="utf-8")
    ours = compile_po(path)
    assert_same(ours, by_babel(path))
    assert ours.gettext("Not sure yet") == "Not sure yet"
    assert ours.pgettext("button", "Done") == "Готово"
    assert ours.ngettext("{count} day", "{count} days", 22) == "{count} дня"


def test_translating_imports_no_babel() -> None:
    """Babel's catalog modules are about 1 MiB of imports, and its catalog 2 MiB more while compiling."""
    probe = (
        "from bot import texts\nfrom bot.i18n import render\n"
        "assert render('ru', texts.CALENDAR_NAME) != texts.CALENDAR_NAME\n"
        "import sys; print(sorted(m for m in sys.modules if m.startswith('babel')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
