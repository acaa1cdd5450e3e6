"""Logging that never prints a secret: known secret values are masked in every record.

One line per event: as text, or with LOG_FORMAT=json one JSON object per line that carries the update,
order and job being handled (set with `log_context` around the work; contextvars follow asyncio tasks).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

from bot.settings import Settings

_BOT_TOKEN = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{30,}")
_BEARER = re.compile(
    r"(?i)(bearer\s+|access_token=|refresh_token=|code=|token=|state=|code_challenge=|code_verifier=)"
    r"[A-Za-z0-9._~+/%=-]+"
)


CONTEXT_FIELDS = ("update_id", "order_id", "job_id")
_context: contextvars.ContextVar[tuple[tuple[str, int], ...]] = contextvars.ContextVar(
    "log_context", default=()
)


@contextmanager
def log_context(**fields: int | None) -> Iterator[None]:
    """Attach these ids (None ones are left out) to every log record written inside the block."""
    known = {name: value for name, value in fields.items() if value is not None}
    token = _context.set(tuple({**dict(_context.get()), **known}.items()))
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, int]:
    return dict(_context.get())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context ids, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(current_context())
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """One plain line: the context ids as key=value, a traceback folded in with ` | ` between its lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = current_context()
        line = super().format(record)
        if context:
            tags = " ".join(f"{name}={context[name]}" for name in CONTEXT_FIELDS if name in context)
            line = f"{line} [{tags}]" if "\n" not in line else line.replace("\n", f" [{tags}]\n", 1)
        return " | ".join(line.splitlines())


class SecretMask(logging.Filter):
    """Replaces configured secrets, bot tokens and bearer-like values in log messages."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if len(secret) >= 6]

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _BOT_TOKEN.sub("***", text)
        return _BEARER.sub(lambda match: match.group(1) + "***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def log_handler(
    settings: Settings | None = None, log_format: str | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """A handler writing one line per record to `stream` (stderr by default) with every secret masked."""
    secrets: list[str] = []
    if settings is not None:
        secrets = [
            settings.telegram_bot_token.get_secret_value(),
            settings.zoom_client_secret.get_secret_value(),
            settings.zoom_webhook_secret_token.get_secret_value(),
        ]
        if settings.telegram_webhook_secret:
            secrets.append(settings.telegram_webhook_secret.get_secret_value())
        if settings.encryption_key:
            secrets.extend(settings.encryption_key.get_secret_value().split(","))
    handler = logging.StreamHandler(stream)
    chosen = log_format or (settings.log_format if settings is not None else "text")
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(SecretMask(secrets))
    return handler


def configure_logging(level: str, settings: Settings | None = None, log_format: str | None = None) -> None:
    handler = log_handler(settings, log_format)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram's URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
