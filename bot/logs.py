"""Logging that never prints a secret: known secret values are masked in every record."""

from __future__ import annotations

import logging
import re

from bot.settings import Settings

_BOT_TOKEN = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{30,}")
_BEARER = re.compile(
    r"(?i)(bearer\s+|access_token=|refresh_token=|code=|token=|state=|code_challenge=|code_verifier=)"
    r"[A-Za-z0-9._~+/%=-]+"
)


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


def configure_logging(level: str, settings: Settings | None = None) -> None:
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
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMask(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram's URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
