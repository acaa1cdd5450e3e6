"""Finding the texts marked in the code (`N_`, `Plural`) and keeping the catalogs in step with them."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from bot.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE, catalog_path, read_catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "handlers")
KEYWORDS = {"N_": None, "pN_": ((1, "c"), 2), "Plural": (1, 2)}
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


def template() -> Catalog:
    """Every marked text of the code, as a catalog without translations."""
    found = Catalog(project="zoom-booking-bot", fuzzy=False)
    for folder in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=("i18n:",)
        ):
            found.add(
                message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments, context=context
            )
    return found


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def update() -> list[Path]:
    """Add new texts to each catalog (untranslated) and drop the ones the code no longer has."""
    source = template()
    written = []
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        path = catalog_path(language)
        current = read_catalog(language) if path.exists() else Catalog(locale=language)
        current.update(source, no_fuzzy_matching=True)
        current.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            write_po(file, current, width=110, omit_header=False, sort_output=False)
        written.append(path)
    return written
