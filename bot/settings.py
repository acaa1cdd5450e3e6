"""Settings: read once from the environment (or `.env`), validated, secrets kept as `SecretStr`.

Each setting is declared as a typed class attribute, with `Field(default=..., ge=..., le=...)` for bounds;
`load_settings` converts and checks every value and names the first bad one in one line. These few
declarations replace pydantic-settings, whose pydantic and schema machinery stayed resident in the serving
process (about 10 MiB, issue 13) for a single read at start.
"""

from __future__ import annotations

import functools
import operator
import os
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

BOTFATHER_FORMAT = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # setWebhook's secret_token
ENV_FILE = ".env"
_T = TypeVar("_T")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class SecretStr:
    """A secret value: shown as asterisks in reprs and logs, revealed by `get_secret_value()` where used."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')" if self._value else "SecretStr('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class _Bounds:
    default: Any
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def check(self, value: float) -> None:
        for bound, holds, words in (
            (self.gt, operator.gt, "greater than"),
            (self.ge, operator.ge, "greater than or equal to"),
            (self.lt, operator.lt, "less than"),
            (self.le, operator.le, "less than or equal to"),
        ):
            if bound is not None and not holds(value, bound):
                raise ValueError(f"Input should be {words} {bound}")


# Named and called like pydantic's, so each setting's declaration reads as it did.
def Field(
    *,
    default: _T,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> _T:
    """A setting's default with the bounds its value must keep."""
    return typing.cast(_T, _Bounds(default, gt=gt, ge=ge, lt=lt, le=le))


class Settings:
    """Everything the process is configured with. Only the composition root creates one."""

    telegram_bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8080"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    zoom_client_id: str = ""
    zoom_client_secret: SecretStr = SecretStr("")
    zoom_webhook_secret_token: SecretStr = SecretStr("")
    zoom_oauth_url: str = "https://zoom.us"
    zoom_api_url: str = "https://api.zoom.us/v2"
    database_url: str = "sqlite+aiosqlite:///data/bot.db"
    encryption_key: SecretStr | None = None
    default_timezone: str = "UTC"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # Telegram delivery: chats served side by side, and the least time between two notices of the same
    # kind (e.g. failed Zoom logins) to one chat.
    telegram_delivery_chats: int = Field(default=16, ge=1, le=1000)
    # Zoom jobs (meeting syncs, Zoom's events) run side by side: each waits mostly on the database and Zoom.
    zoom_jobs: int = Field(default=16, ge=1, le=1000)
    # Seconds to wait for the Bot API's answer: a send given up too early may have been delivered, and is then
    # sent again (PTB's default of 5 s is shorter than Telegram's answers under load).
    telegram_read_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    notice_interval_seconds: float = Field(default=60.0, ge=0, le=86400)
    # After Confirm the bot edits the summary into the order card itself; the card's queued refresh waits this
    # long (it runs at once after that edit, and after this long only when the edit never happened), so the
    # same card is not edited twice. A new order's card in the owner's chat waits up to
    # OWNER_CARD_SETTLE_SECONDS for the Zoom meeting being created, so it arrives with the Join button instead
    # of being edited a moment later (0: sent at once).
    card_refresh_fallback_seconds: float = Field(default=10.0, ge=0, le=3600)
    owner_card_settle_seconds: float = Field(default=5.0, ge=0, le=600)
    # The web server: seconds a webhook body may take to arrive, and connections served at once (more: 503).
    web_read_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    web_max_connections: int = Field(default=200, ge=1, le=100000)
    customer_active_orders: int = Field(default=3, ge=1, le=1000)  # per customer and owner
    # Updates one chat may have waiting (polling); past it the chat is told to slow down, the rest dropped.
    intake_chat_backlog: int = Field(default=30, ge=1, le=10000)
    # Chats whose updates are handled side by side (polling); the others wait, stored, in the order they came,
    # a press that finishes an order first. More at once only slows each one down (the bot is CPU-bound and
    # its sessions wait for the database's connections), and the jobs that finish orders with them.
    intake_chats: int = Field(default=8, ge=1, le=10000)
    # Seconds in one minute of a service's reminder offsets: 60 except in tests, which shorten it.
    reminder_minute_seconds: float = Field(default=60.0, gt=0, le=60)
    log_format: Literal["text", "json"] = "text"
    # The serving process's event loop: uvloop's (in C: about 5% less CPU per update under a burst) where it
    # is installed (not on Windows), else asyncio's own.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # A claimed job's lease: another replica takes the job over only this long after its worker vanished.
    job_lease_seconds: float = Field(default=15.0, gt=0, le=3600)
    # How often an idle worker looks for due jobs when nothing woke it.
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # /readyz answers 503 when the job worker has not run for longer than this.
    ready_worker_seconds: float = Field(default=30.0, gt=0, le=3600)
    # A job that met transient trouble is tried again after JOB_BACKOFF_BASE_SECONDS, doubling each time up
    # to JOB_BACKOFF_CAP_SECONDS (each delay +-20 %), for as long as the trouble lasts; a flood wait spends no
    # attempt. A job whose runner crashed JOB_MAX_ATTEMPTS times is given up (the owner is told, with Retry).
    job_backoff_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    job_backoff_cap_seconds: float = Field(default=600.0, gt=0, le=86400)
    job_max_attempts: int = Field(default=25, ge=1, le=1000)
    # An edit of an order with a meeting reaches Zoom this long after the last edit (a burst is one PATCH).
    meeting_edit_settle_seconds: float = Field(default=3.0, ge=0, le=3600)
    # Zoom requests give up after this long (and after the connect timeout to connect).
    zoom_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    zoom_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # A meeting create that got no answer may still land in Zoom: the bot looks for it (by the order's marker)
    # for this long before it creates the meeting again, so a slow Zoom does not give an order two meetings.
    zoom_create_settle_seconds: float = Field(default=60.0, ge=0, le=3600)
    # A Zoom login link works this long after it was made; used and expired ones are deleted a day later.
    zoom_login_ttl_seconds: float = Field(default=600.0, gt=0, le=86400)
    zoom_login_kept_seconds: float = Field(default=86400.0, gt=0)
    # A Zoom access token is refreshed when it expires within this many seconds.
    zoom_refresh_margin_seconds: float = Field(default=120.0, ge=0, le=3000)
    # The hosts' Zoom settings are read again once they are this old.
    zoom_settings_max_age_seconds: float = Field(default=86400.0, gt=0)
    # Zoom connections unused this long are refreshed, so their refresh tokens never age out.
    zoom_idle_refresh_seconds: float = Field(default=604800.0, gt=0)
    # How often the two refreshes above are looked for.
    zoom_refresh_check_seconds: float = Field(default=3600.0, gt=0)
    # Polling: how long one getUpdates call waits for updates (Telegram allows up to 50).
    telegram_poll_timeout_seconds: int = Field(default=10, ge=0, le=50)
    # A failed getUpdates is tried again after this long, doubling up to the cap; while another process
    # polls with the same token (409 Conflict), every TELEGRAM_CONFLICT_WAIT_SECONDS.
    telegram_poll_retry_seconds: float = Field(default=1.0, gt=0, le=3600)
    telegram_poll_retry_cap_seconds: float = Field(default=30.0, gt=0, le=3600)
    telegram_conflict_wait_seconds: float = Field(default=5.0, gt=0, le=3600)
    # On SIGTERM, chats being served get this long to finish their update.
    shutdown_drain_seconds: float = Field(default=15.0, gt=0, le=3600)
    # Every other Bot API request gives up after this long (connect, send, read).
    telegram_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # Our side of Telegram's flood limits: requests per second overall, and per chat a burst of
    # TELEGRAM_CHAT_BURST new messages per TELEGRAM_CHAT_PERIOD_SECONDS.
    telegram_overall_per_second: float = Field(default=30.0, gt=0, le=1000)
    telegram_chat_burst: int = Field(default=5, ge=1, le=1000)
    telegram_chat_period_seconds: float = Field(default=5.0, gt=0, le=3600)
    # /readyz and /metrics give up on the database after this long.
    health_check_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # Purge of old rows and limits on customers (issue 9). Finished jobs and Zoom webhook events are kept
    # RETENTION_DAYS (at least a day: Zoom retries an event for 85 minutes); processed Telegram updates
    # PROCESSED_UPDATES_HOURS (Telegram keeps an update 24 h, and after a week without updates numbers
    # new ones at random); the purge runs every PURGE_INTERVAL_SECONDS. A customer may change one owner's
    # orders CUSTOMER_EDITS times per CUSTOMER_EDITS_WINDOW_SECONDS; the owner is never limited.
    retention_days: int = Field(default=30, ge=1, le=3650)
    processed_updates_hours: float = Field(default=48.0, ge=24, lt=168)
    purge_interval_seconds: float = Field(default=3600.0, gt=0, le=86400)
    customer_edits: int = Field(default=10, ge=1, le=10000)
    customer_edits_window_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)

    def __init__(self, **values: object) -> None:
        for name, hint in _hints().items():
            declared = type(self).__dict__.get(name, _MISSING)
            bounds = declared if isinstance(declared, _Bounds) else None
            value = values.get(name, bounds.default if bounds else declared)
            if value is _MISSING:
                raise _Invalid(name, "is required but not set")
            try:
                setattr(self, name, _checked(name, hint, value, bounds))
            except ValueError as exc:
                raise _Invalid(name, str(exc)) from None
        if self.telegram_mode == "webhook":
            secret = self.telegram_webhook_secret
            if secret is None or not secret.get_secret_value():
                raise _Invalid("", "TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook")

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _hints())
        return f"Settings({shown})"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every setting's name (its environment variable in upper case)."""
        return tuple(_hints())

    @property
    def zoom_configured(self) -> bool:
        return bool(self.zoom_client_id and self.zoom_client_secret.get_secret_value())

    @property
    def oauth_redirect_uri(self) -> str:
        return f"{self.public_url}/zoom/oauth/callback"


_MISSING: Any = object()


class _Invalid(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name.upper()}: {message}" if name else message)


@functools.cache
def _hints() -> dict[str, Any]:
    """The declared settings and their types, in declaration order."""
    return {name: hint for name, hint in typing.get_type_hints(Settings).items() if not name.startswith("_")}


def _token_shape(value: SecretStr) -> SecretStr:
    if not BOTFATHER_FORMAT.fullmatch(value.get_secret_value()):
        raise ValueError("must look like 123456:ABC-DEF... (the token BotFather gave you)")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def _database(value: str) -> str:
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from exc
    return value


def _secret_token_shape(value: SecretStr | None) -> SecretStr | None:
    if (
        value is not None
        and value.get_secret_value()
        and not SECRET_TOKEN.fullmatch(value.get_secret_value())
    ):
        raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ - (what Telegram accepts)")
    return value


# Applied to a text value before it is converted, and to the converted value, by the setting's name.
_BEFORE: dict[str, Callable[[str], str]] = {
    "log_level": str.upper,
    "log_format": str.lower,
    "event_loop": str.lower,
}
_AFTER: dict[str, Callable[[Any], Any]] = {
    "telegram_bot_token": _token_shape,
    "telegram_api_url": _http_url,
    "public_url": _http_url,
    "zoom_oauth_url": _http_url,
    "zoom_api_url": _http_url,
    "database_url": _database,
    "default_timezone": _timezone,
    "telegram_webhook_secret": _secret_token_shape,
}


def _checked(name: str, hint: Any, value: object, bounds: _Bounds | None) -> Any:
    if isinstance(value, str) and name in _BEFORE:
        value = _BEFORE[name](value)
    value = _converted(hint, value)
    if bounds is not None and isinstance(value, int | float):
        bounds.check(value)
    check = _AFTER.get(name)
    return check(value) if check is not None else value


def _converted(hint: Any, value: object) -> Any:
    """`value` as the declared type: text from the environment is parsed, a typed value kept."""
    options = typing.get_args(hint)
    if typing.get_origin(hint) is Literal:
        if value in options:
            return value
        shown = [repr(option) for option in options]
        raise ValueError(f"Input should be {', '.join(shown[:-1])} or {shown[-1]}")
    if type(None) in options:  # X | None
        return None if value is None else _converted(next(o for o in options if o is not type(None)), value)
    if hint is SecretStr:
        if isinstance(value, SecretStr):
            return value
        return SecretStr(_converted(str, value))
    if hint is str:
        if not isinstance(value, str):
            raise ValueError("Input should be a valid string")
        return value
    if hint is int:
        return _integer(value)
    if hint is float:
        return _number(value)
    raise TypeError(f"no conversion for a setting of type {hint!r}")  # a declaration this reader lacks


def _integer(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("Input should be a valid integer, unable to parse string as an integer")


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            pass
        else:
            if number == number:  # not NaN
                return number
    raise ValueError("Input should be a valid number, unable to parse string as a number")


def _from_environment(env_file: str | os.PathLike[str] | None) -> dict[str, str]:
    """The process environment over `.env`, matched to settings case-insensitively."""
    found: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        found.update(
            (key.lower(), value)
            for key, value in dotenv_values(env_file, encoding="utf-8").items()
            if value is not None
        )
    found.update((key.lower(), value) for key, value in os.environ.items())
    return {name: found[name] for name in _hints() if name in found}


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    _env_file: str | os.PathLike[str] | None = ENV_FILE,
    **overrides: object,
) -> Settings:
    """Read the settings; a problem becomes one `SettingsError` line naming the setting.

    By default from the process environment and `.env` (`_env_file`, None for none); with `environ`, from
    that mapping alone (names as in the environment, e.g. `DATABASE_URL`), so a test can run the bot in its
    own process.
    """
    if environ is None:
        given: dict[str, object] = dict(_from_environment(_env_file))
    else:
        given = {name: environ[name.upper()] for name in _hints() if name.upper() in environ}
    try:
        return Settings(**{**given, **overrides})
    except _Invalid as exc:
        raise SettingsError(str(exc)) from None
