"""Identifiers and secrets shaped like Zoom's, all drawn from `secrets` so none can be guessed."""

from __future__ import annotations

import base64
import secrets
import string

_ZOOM_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
_PASSCODE_ALPHABET = string.ascii_letters + string.digits


def zoom_id() -> str:
    """A 22-character id like Zoom's user and account ids (`KDcuGIm1QgePTO8WbOqwIQ`)."""
    return "".join(secrets.choice(_ZOOM_ID_ALPHABET) for _ in range(22))


def meeting_id() -> int:
    """An 11-digit meeting number, the common size today (reference §2)."""
    return 10**10 + secrets.randbelow(9 * 10**10)


def personal_meeting_id() -> int:
    """A 10-digit personal meeting id (PMI)."""
    return 10**9 + secrets.randbelow(9 * 10**9)


def meeting_uuid() -> str:
    """A meeting UUID: base64 of 16 random bytes, so it may contain `/`, `+` and `=`."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def opaque_token() -> str:
    """An access token, refresh token or authorization code: long, random and URL-safe."""
    return secrets.token_urlsafe(48)


def passcode(length: int = 6) -> str:
    """A meeting passcode such as Zoom generates by default."""
    return "".join(secrets.choice(_PASSCODE_ALPHABET) for _ in range(length))


def digits(length: int) -> str:
    """A string of random decimal digits (numeric H.323 / PSTN passcodes)."""
    return "".join(secrets.choice(string.digits) for _ in range(length))


def tracking_id() -> str:
    """A value for the `x-zm-trackingid` header every Zoom API response carries."""
    return f"v=2.0;clid=us05;rid=WEB_{secrets.token_hex(16)}"
