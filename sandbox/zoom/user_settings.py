"""A Zoom user's own settings (`GET /v2/users/{userId}/settings`, reference §1.5, §2.1, §6): the part the
bot reads, with the defaults new meetings take when a create body leaves them out."""

from __future__ import annotations

import copy
from typing import Any

# The sections and fields the sandbox models, with a new user's values: passcodes required for scheduled
# meetings, no waiting room, no automatic recording.
DEFAULT_USER_SETTINGS: dict[str, Any] = {
    "schedule_meeting": {
        "host_video": False,
        "participant_video": False,
        "audio_type": "voip",
        "join_before_host": False,
        "use_pmi_for_scheduled_meetings": False,
        "require_password_for_scheduled_meetings": True,
        "default_password_for_scheduled_meetings": "",
        "meeting_password_requirement": {
            "length": 6,
            "have_letter": False,
            "have_number": False,
            "have_special_character": False,
            "only_allow_numeric": False,
            "have_upper_and_lower_characters": False,
            "consecutive_characters_length": 0,
            "weak_enhance_detection": False,
        },
    },
    "in_meeting": {"waiting_room": False, "chat": True, "screen_sharing": True},
    "recording": {"auto_recording": "none", "local_recording": True, "cloud_recording": False},
}
_RECORDING = ("local", "cloud", "none")


def new_settings() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT_USER_SETTINGS)


def changed(settings: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`settings` with `changes` (same sections, known fields, values of the same type) applied."""
    result = copy.deepcopy(settings)
    for section, fields in changes.items():
        if section not in result or not isinstance(fields, dict):
            raise ValueError(f"unknown settings section {section!r}")
        for name, value in fields.items():
            current = result[section].get(name, KeyError)
            if current is KeyError or type(value) is not type(current):
                raise ValueError(f"unknown or mistyped setting {section}.{name}")
            if name == "auto_recording" and value not in _RECORDING:
                raise ValueError(f"auto_recording must be one of {_RECORDING}")
            result[section][name] = copy.deepcopy(value)
    return result


def meeting_defaults(settings: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Whether a new meeting gets a passcode, and its settings, when the create body does not say."""
    schedule, in_meeting, recording = (
        settings["schedule_meeting"],
        settings["in_meeting"],
        settings["recording"],
    )
    return bool(schedule["require_password_for_scheduled_meetings"]), {
        "waiting_room": bool(in_meeting["waiting_room"]),
        "auto_recording": str(recording["auto_recording"]),
        "join_before_host": bool(schedule["join_before_host"]),
        "host_video": bool(schedule["host_video"]),
        "participant_video": bool(schedule["participant_video"]),
    }
