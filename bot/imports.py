"""Parts of libraries the serving process never uses, kept from being imported (issue 13, README).

- httpx imports its command line at `import httpx` when click is installed (uvicorn needs it): click,
  and Pygments where installed, about 2 MiB resident; a failed import leaves httpx a stub `main`.
- python-telegram-bot imports `cryptography` for Telegram Passport, which the bot does not use: a second
  OpenSSL, linked into cryptography's extension, about 7 MiB. Hidden while `telegram` is first imported,
  so PTB notes it missing, and importable again afterwards by the rare paths that use it (Authlib's OAuth,
  `python -m bot genkey`); the tokens at rest are decrypted by `bot/fernet.py` without it.
"""

from __future__ import annotations

import importlib
import sys

WITHOUT_CLI = "httpx._main"
HIDDEN_FROM_TELEGRAM = "cryptography"


def leave_out_unused() -> None:
    """Call before the first import of httpx and telegram; does nothing for what is imported already."""
    sys.modules.setdefault(WITHOUT_CLI, None)  # type: ignore[arg-type]  # None: "not importable"
    if "telegram" in sys.modules or HIDDEN_FROM_TELEGRAM in sys.modules:
        return
    sys.modules[HIDDEN_FROM_TELEGRAM] = None  # type: ignore[assignment]
    try:
        importlib.import_module("telegram")
    finally:
        del sys.modules[HIDDEN_FROM_TELEGRAM]
