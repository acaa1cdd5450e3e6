"""`python -m bot` runs the bot; `python -m bot demo` plays a whole story against the sandbox."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable

# Opt in to python-telegram-bot's timedelta periods (RetryAfter.retry_after) before it is imported.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from sqlalchemy.exc import SQLAlchemyError  # noqa: E402

from bot.logs import configure_logging  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Bookable services in Telegram with Zoom."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    sub.add_parser("migrate", help="bring the database schema to the newest migration and exit")
    sub.add_parser("demo", help="run the real bot against the sandbox emulators and print the story")
    sub.add_parser("genkey", help="print a new ENCRYPTION_KEY")
    sub.add_parser("rotate-keys", help="re-encrypt stored tokens with the first ENCRYPTION_KEY")
    args = parser.parse_args(argv)
    if args.command == "genkey":
        from cryptography.fernet import Fernet

        print(Fernet.generate_key().decode())
        return 0
    if args.command == "rotate-keys":
        return rotate_keys()
    if args.command == "migrate":
        return migrate()
    if args.command == "demo":
        from bot.demo import run_demo

        return int(run_demo())
    return run_bot()


def rotate_keys() -> int:
    from bot.app import cipher_for
    from bot.crypto import EncryptionKeyError
    from bot.key_rotation import rotate_keys as rotate
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings)
        count = asyncio.run(rotate(settings.database_url, cipher_for(settings)))
    except (SettingsError, EncryptionKeyError) as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"Re-encrypted {count} stored secret(s) with the first key; older keys may now be removed.")
    return 0


def migrate() -> int:
    from bot.settings import SettingsError, load_settings
    from storage.db import SchemaTooNew, create_engine
    from storage.db import migrate as upgrade

    async def run(url: str) -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings)
        asyncio.run(run(settings.database_url))
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except SchemaTooNew as exc:
        print(f"Database error: {exc}", file=sys.stderr)
        return 2
    except (OSError, SQLAlchemyError) as exc:
        print(f"Database error: could not migrate ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    print("The database schema is at the newest migration.")
    return 0


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the event loop the bot serves on (None: asyncio's own)."""
    if name != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:  # not installed (Windows): asyncio's loop serves the same, with more CPU
        logging.getLogger("bot").info("uvloop is not installed; serving on asyncio's event loop")
        return None
    return uvloop.new_event_loop


def run_bot() -> int:
    from bot.allocator import cap_arenas

    cap_arenas()  # before the first thread: SQLite's connection threads share one arena
    from bot.imports import leave_out_unused

    leave_out_unused()  # before httpx and telegram: no httpx command line, no cryptography for PTB
    from bot.app import build, serve
    from bot.crypto import EncryptionKeyError
    from bot.settings import SettingsError, load_settings
    from storage.db import SchemaTooNew

    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings)
        runtime = build(settings)
    except (SettingsError, EncryptionKeyError) as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(settings.event_loop)) as runner:
            runner.run(serve(runtime))
    except KeyboardInterrupt:
        pass
    except SchemaTooNew as exc:
        print(f"Database error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        logging.getLogger("bot").critical("The bot stopped: %s", type(exc).__name__, exc_info=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
