"""Zoom users of the sandbox and the person's browser session at zoom.us."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.clock import Clock
from sandbox.zoom.ids import personal_meeting_id, zoom_id
from sandbox.zoom.times import load_timezone, zoom_time
from sandbox.zoom.user_settings import changed, new_settings


@dataclass(frozen=True)
class ZoomUser:
    """One Zoom user; each sits in an account of their own, as independent hosts do."""

    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    timezone: str
    pmi: int
    created_at: datetime

    def profile(self) -> dict[str, Any]:
        """The body of `GET /v2/users/me`."""
        created = zoom_time(self.created_at)
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "display_name": f"{self.first_name} {self.last_name}",
            "email": self.email,
            "type": 1,
            "role_name": "Owner",
            "pmi": self.pmi,
            "use_pmi": False,
            "personal_meeting_url": f"https://us05web.zoom.us/j/{self.pmi}",
            "timezone": self.timezone,
            "verified": 1,
            "dept": "",
            "created_at": created,
            "user_created_at": created,
            "last_login_time": created,
            "pic_url": "",
            "language": "en-US",
            "phone_number": "",
            "status": "active",
            "role_id": "0",
            "account_id": self.account_id,
            "account_number": int(str(self.pmi)[:9]),
            "cluster": "us05",
            "login_types": [100],
        }

    def brief(self) -> dict[str, Any]:
        """What the control API shows about a user."""
        return {
            "id": self.id,
            "account_id": self.account_id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "timezone": self.timezone,
            "pmi": self.pmi,
        }


class Directory:
    """Every Zoom user the sandbox knows, plus who is logged in at zoom.us in the person's browser.

    The browser session decides which Zoom user an authorization code is issued for, and whether the
    person clicks "Allow" or "Decline" on the consent screen.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[str, ZoomUser] = {}
        self._session_email: str | None = None
        self._decline_next = False
        self._settings: dict[str, dict[str, Any]] = {}

    def add(self, email: str, timezone: str = "UTC") -> ZoomUser:
        """Create a user, or return the existing one with that email."""
        load_timezone(timezone)
        key = email.strip().lower()
        with self._lock:
            existing = self._find_locked(key)
            if existing is not None:
                return existing
            user = self._new_user(key, timezone)
            self._users[user.id] = user
            self._settings[user.id] = new_settings()
            return user

    def _new_user(self, email: str, timezone: str) -> ZoomUser:
        local = email.split("@", 1)[0]
        return ZoomUser(
            id=zoom_id(),
            account_id=zoom_id(),
            email=email,
            first_name=local.replace(".", " ").title(),
            last_name="Sandbox",
            timezone=timezone,
            pmi=personal_meeting_id(),
            created_at=self._clock.now().replace(microsecond=0),
        )

    def _find_locked(self, email: str) -> ZoomUser | None:
        return next((user for user in self._users.values() if user.email == email), None)

    def by_email(self, email: str) -> ZoomUser | None:
        """The user with this email, if any."""
        with self._lock:
            return self._find_locked(email.strip().lower())

    def by_id(self, user_id: str) -> ZoomUser | None:
        """The user with this Zoom id, if any."""
        with self._lock:
            return self._users.get(user_id)

    def require(self, email: str) -> ZoomUser:
        """The user with this email; KeyError when there is none."""
        user = self.by_email(email)
        if user is None:
            raise KeyError(f"no Zoom user {email!r} in the sandbox")
        return user

    def all(self) -> list[ZoomUser]:
        """Every user, oldest first."""
        with self._lock:
            return list(self._users.values())

    def settings_of(self, user_id: str) -> dict[str, Any]:
        """The user's settings (a copy), as `GET /v2/users/me/settings` returns them."""
        with self._lock:
            return copy.deepcopy(self._settings.get(user_id) or new_settings())

    def change_settings(self, email: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change some of the user's settings, as the person would on zoom.us."""
        user = self.require(email)
        with self._lock:
            self._settings[user.id] = changed(self._settings.get(user.id) or new_settings(), changes)
            return copy.deepcopy(self._settings[user.id])

    def login(self, email: str) -> ZoomUser:
        """Make the browser logged in at zoom.us as this (existing) user."""
        user = self.require(email)
        with self._lock:
            self._session_email = user.email
        return user

    def session_user(self) -> ZoomUser | None:
        """Who is logged in at zoom.us in the browser right now."""
        with self._lock:
            email = self._session_email
            return None if email is None else self._find_locked(email)

    def decline_next_consent(self) -> None:
        """The next time the consent screen shows, the person clicks "Decline"."""
        with self._lock:
            self._decline_next = True

    def take_declined_consent(self) -> bool:
        """Whether this consent is declined (consumes the one-shot switch)."""
        with self._lock:
            declined, self._decline_next = self._decline_next, False
            return declined
