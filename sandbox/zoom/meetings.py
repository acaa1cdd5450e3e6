"""Scheduled meetings in the sandbox: the stored record, its JSON views, and the thread-safe book."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.clock import Clock
from sandbox.zoom.ids import digits, meeting_id, meeting_uuid, passcode
from sandbox.zoom.meeting_fields import DEFAULT_SETTINGS
from sandbox.zoom.times import zoom_time
from sandbox.zoom.user_settings import meeting_defaults
from sandbox.zoom.users import ZoomUser

_WEB = "https://us05web.zoom.us"


@dataclass
class StoredMeeting:
    """One meeting as Zoom stores it; `start_time` is an aware UTC datetime."""

    id: int
    uuid: str
    host_id: str
    host_email: str
    topic: str
    type: int
    start_time: datetime
    duration: int
    timezone: str
    agenda: str
    password: str
    settings: dict[str, Any]
    created_at: datetime
    encrypted_password: str = ""
    h323_password: str = ""
    pstn_password: str = ""
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ends_at(self) -> datetime:
        """When the scheduled slot is over."""
        return self.start_time + timedelta(minutes=self.duration)

    def derive_passwords(self) -> None:
        """Numeric and encrypted forms of the passcode, regenerated whenever it changes."""
        numeric = digits(max(len(self.password), 6)) if self.password else ""
        self.h323_password = numeric
        self.pstn_password = numeric
        self.encrypted_password = passcode(32) if self.password else ""

    @property
    def join_url(self) -> str:
        """The participants' link, with the encrypted passcode so nobody is prompted."""
        pwd = f"?pwd={self.encrypted_password}" if self.encrypted_password else ""
        return f"{_WEB}/j/{self.id}{pwd}"

    def wire(self, name: str) -> Any:
        """A field's value as Zoom puts it in JSON."""
        value = getattr(self, name)
        return zoom_time(value) if isinstance(value, datetime) else copy.deepcopy(value)


def full_view(meeting: StoredMeeting) -> dict[str, Any]:
    """The meeting as `POST /users/me/meetings` (201) and `GET /meetings/{id}` (200) return it."""
    return {
        "uuid": meeting.uuid,
        "id": meeting.id,
        "host_id": meeting.host_id,
        "host_email": meeting.host_email,
        "assistant_id": "",
        "topic": meeting.topic,
        "type": meeting.type,
        "status": "waiting",
        "start_time": zoom_time(meeting.start_time),
        "duration": meeting.duration,
        "timezone": meeting.timezone,
        "agenda": meeting.agenda,
        "created_at": zoom_time(meeting.created_at),
        # The ZAK in start_url is short-lived in real Zoom, so every read gets a fresh one.
        "start_url": f"{_WEB}/s/{meeting.id}?zak={passcode(64)}",
        "join_url": meeting.join_url,
        "password": meeting.password,
        "h323_password": meeting.h323_password,
        "pstn_password": meeting.pstn_password,
        "encrypted_password": meeting.encrypted_password,
        "pre_schedule": False,
        "creation_source": "open_api",
        "settings": copy.deepcopy(meeting.settings),
    }


def summary_view(meeting: StoredMeeting) -> dict[str, Any]:
    """The meeting as an item of `GET /users/me/meetings`."""
    return {
        "uuid": meeting.uuid,
        "id": meeting.id,
        "host_id": meeting.host_id,
        "topic": meeting.topic,
        "type": meeting.type,
        "start_time": zoom_time(meeting.start_time),
        "duration": meeting.duration,
        "timezone": meeting.timezone,
        "agenda": meeting.agenda,
        "created_at": zoom_time(meeting.created_at),
        "join_url": meeting.join_url,
    }


def control_view(meeting: StoredMeeting) -> dict[str, Any]:
    """Everything the control API shows, deleted meetings included and flagged."""
    view = full_view(meeting)
    deleted_at = None if meeting.deleted_at is None else zoom_time(meeting.deleted_at)
    view.update(deleted=meeting.deleted_at is not None, deleted_at=deleted_at, deleted_by=meeting.deleted_by)
    view["changes"] = copy.deepcopy(meeting.changes)
    return view


@dataclass(frozen=True)
class MeetingChange:
    """What an update changed: only the changed fields, before and after, in wire form."""

    meeting_id: int
    old: dict[str, Any]
    new: dict[str, Any]


class MeetingBook:
    """All meetings of all users; every read returns a snapshot so callers never share live records."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._meetings: dict[int, StoredMeeting] = {}

    def create(self, host: ZoomUser, values: dict[str, Any], host_settings: dict[str, Any]) -> StoredMeeting:
        """Store a new meeting from validated fields; what they leave out follows the host's own settings."""
        now = self._clock.now().replace(microsecond=0)
        wants_passcode, own = meeting_defaults(host_settings)
        settings = {**copy.deepcopy(DEFAULT_SETTINGS), **own, **values.get("settings", {})}
        if "password" in values:
            password = values["password"]
        else:
            password = passcode() if values.get("default_password", wants_passcode) else ""
        if settings.get("waiting_room"):
            settings["join_before_host"] = False
        with self._lock:
            meeting = StoredMeeting(
                id=self._free_id_locked(),
                uuid=meeting_uuid(),
                host_id=host.id,
                host_email=host.email,
                topic=values.get("topic", "Zoom Meeting"),
                type=values.get("type", 2),
                start_time=values.get("start_time", now),
                duration=values.get("duration", 60),
                timezone=values.get("timezone", host.timezone),
                agenda=values.get("agenda", ""),
                password=password,
                settings=settings,
                created_at=now,
            )
            meeting.derive_passwords()
            self._meetings[meeting.id] = meeting
            return copy.deepcopy(meeting)

    def _free_id_locked(self) -> int:
        candidate = meeting_id()
        while candidate in self._meetings:
            candidate = meeting_id()
        return candidate

    def hosted(self, host_id: str, meeting_id: int) -> StoredMeeting | None:
        """A live meeting of this host; None when unknown, deleted or someone else's."""
        with self._lock:
            meeting = self._meetings.get(meeting_id)
            if meeting is None or meeting.deleted_at is not None or meeting.host_id != host_id:
                return None
            return copy.deepcopy(meeting)

    def of_host(self, host_id: str) -> list[StoredMeeting]:
        """Live meetings of this host, by start time."""
        with self._lock:
            mine = [m for m in self._meetings.values() if m.host_id == host_id and m.deleted_at is None]
            return copy.deepcopy(sorted(mine, key=lambda m: (m.start_time, m.id)))

    def find(self, meeting_id: int) -> StoredMeeting:
        """Any meeting, deleted or not, whoever hosts it; KeyError when it never existed."""
        with self._lock:
            if meeting_id not in self._meetings:
                raise KeyError(f"no meeting {meeting_id} in the sandbox")
            return copy.deepcopy(self._meetings[meeting_id])

    def everything(self) -> list[StoredMeeting]:
        """Every meeting ever created, deleted ones included, oldest first."""
        with self._lock:
            return copy.deepcopy(sorted(self._meetings.values(), key=lambda m: m.created_at))

    def update(self, meeting_id: int, values: dict[str, Any], by: str) -> MeetingChange:
        """Apply validated fields; returns what actually changed (`by` is "api" or "zoom")."""
        with self._lock:
            meeting = self._meetings[meeting_id]
            old, new = _apply(meeting, values)
            if "password" in new:
                meeting.derive_passwords()
            if new:
                meeting.changes.append({"by": by, "at": zoom_time(self._clock.now()), "old": old, "new": new})
            return MeetingChange(meeting_id, old, new)

    def preview(self, meeting_id: int, values: dict[str, Any]) -> MeetingChange:
        """What `update` would change, without changing anything."""
        with self._lock:
            meeting = copy.deepcopy(self._meetings[meeting_id])
        old, new = _apply(meeting, values)
        return MeetingChange(meeting_id, old, new)

    def delete(self, meeting_id: int, by: str) -> StoredMeeting | None:
        """Mark a live meeting deleted (`by` is "api" or "zoom"); None when it is not live."""
        with self._lock:
            meeting = self._meetings.get(meeting_id)
            if meeting is None or meeting.deleted_at is not None:
                return None
            meeting.deleted_at = self._clock.now()
            meeting.deleted_by = by
            return copy.deepcopy(meeting)


def _apply(meeting: StoredMeeting, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, value in values.items():
        if name == "default_password":
            continue  # only means "generate a passcode", which creating does anyway when none is given
        if name == "settings":
            _apply_settings(meeting, value, old, new)
        elif getattr(meeting, name) != value:
            old[name] = meeting.wire(name)
            setattr(meeting, name, value)
            new[name] = meeting.wire(name)
    return old, new


def _apply_settings(
    meeting: StoredMeeting, settings: dict[str, Any], old: dict[str, Any], new: dict[str, Any]
) -> None:
    changed = {name: value for name, value in settings.items() if meeting.settings.get(name) != value}
    if changed:
        old["settings"] = {name: meeting.settings.get(name) for name in changed}
        new["settings"] = copy.deepcopy(changed)
        meeting.settings.update(copy.deepcopy(changed))
