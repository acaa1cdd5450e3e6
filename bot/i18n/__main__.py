"""`python -m bot.i18n update`: add the texts marked in the code to the catalogs, drop removed ones."""

from __future__ import annotations

import sys

from bot.i18n.extract import update


def main(argv: list[str]) -> int:
    if argv != ["update"]:
        print("usage: python -m bot.i18n update", file=sys.stderr)
        return 2
    for path in update():
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
