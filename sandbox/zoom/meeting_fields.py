"""Validation of meeting create/update bodies with Zoom's limits (reference §2.1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.zoom.errors import validation_failed
from sandbox.zoom.times import load_timezone, parse_start_time

_PASSWORD = re.compile(r"[A-Za-z0-9@\-_*]{0,10}")
_MEETING_TYPES = (1, 2, 3, 8)
_SETTING_CHOICES: dict[str, tuple[object, ...]] = {
    "audio": ("both", "telephony", "voip", "thirdParty"),
    "auto_recording": ("local", "cloud", "none"),
    "approval_type": (0, 1, 2),
    "jbh_time": (0, 5, 10, 15),
    "encryption_type": ("enhanced_encryption", "e2ee"),
}
_TEXT_SETTINGS = ("alternative_hosts", "enforce_login_domains", "contact_name", "contact_email")

DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "cn_meeting": False,
    "in_meeting": False,
    "join_before_host": False,
    "jbh_time": 0,
    "mute_upon_entry": False,
    "watermark": False,
    "use_pmi": False,
    "approval_type": 2,
    "audio": "voip",
    "auto_recording": "none",
    "enforce_login": False,
    "enforce_login_domains": "",
    "alternative_hosts": "",
    "waiting_room": False,
    "meeting_authentication": False,
    "email_notification": True,
    "registrants_email_notification": True,
    "private_meeting": False,
    "encryption_type": "enhanced_encryption",
    "host_save_video_order": False,
    "continuous_meeting_chat": {"enable": False, "auto_add_invited_external_users": False},
}


class InvalidField(ValueError):
    """A field (possibly nested, like `settings.audio`) that fails Zoom's validation."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _text(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > limit:
            raise ValueError(value)
        return value

    return check


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(value)
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(value)
    return value


def _meeting_type(value: Any) -> int:
    if isinstance(value, bool) or value not in _MEETING_TYPES:
        raise ValueError(value)
    return int(value)


def _password(value: Any) -> str:
    if not isinstance(value, str) or _PASSWORD.fullmatch(value) is None:
        raise ValueError(value)
    return value


def _timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    load_timezone(value)
    return value


def _setting(name: str, value: Any) -> Any:
    expected = DEFAULT_SETTINGS.get(name)
    if name in _SETTING_CHOICES:
        ok = not isinstance(value, bool) and value in _SETTING_CHOICES[name]
    elif name in _TEXT_SETTINGS:
        ok = isinstance(value, str)
    elif isinstance(expected, bool):
        ok = isinstance(value, bool)
    else:
        ok = True  # settings we do not model are stored as given, as Zoom stores what it does not check
    if not ok:
        raise InvalidField(f"settings.{name}")
    return value


def _settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(value)
    return {str(name): _setting(str(name), item) for name, item in value.items()}


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "topic": _text(200),
    "agenda": _text(2000),
    "type": _meeting_type,
    "duration": _positive_int,
    "password": _password,
    "default_password": _flag,
    "timezone": _timezone,
    "settings": _settings,
}


def _start_time(value: Any, timezone: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    return parse_start_time(value, load_timezone(timezone))


def read_meeting_fields(body: dict[str, Any], default_timezone: str) -> dict[str, Any]:
    """Check the fields we model and return them normalized; `start_time` becomes an aware UTC datetime.

    A `start_time` without `Z` is local to the body's `timezone`, else to `default_timezone`. Unknown
    fields are ignored and JSON nulls count as absent. Raises ApiError 400 code 300 listing bad fields.
    """
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name, check in _CHECKS.items():
        if body.get(name) is not None:
            try:
                values[name] = check(body[name])
            except ValueError as exc:
                errors.append(_field_error(exc.field if isinstance(exc, InvalidField) else name))
    if body.get("start_time") is not None:
        try:
            values["start_time"] = _start_time(body["start_time"], values.get("timezone", default_timezone))
        except ValueError:
            errors.append(_field_error("start_time"))
    if errors:
        raise validation_failed(errors)
    return values


def _field_error(field: str) -> dict[str, str]:
    # "Invalid field." is the message Zoom documents for field errors (developers.zoom.us/docs/api/errors).
    return {"field": field, "message": "Invalid field."}
