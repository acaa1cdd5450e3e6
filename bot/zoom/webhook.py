"""Zoom webhook signatures (x-zm-signature over the raw body) and URL validation answers."""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_AGE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """True only for a correctly signed body whose timestamp is within five minutes of now."""
    if not secret:
        return False
    timestamp = headers.get("x-zm-request-timestamp", "")
    given = headers.get("x-zm-signature", "")
    if not (timestamp.isascii() and timestamp.isdecimal()) or len(timestamp) > 12 or not given:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode())


def url_validation_answer(secret: str, plain_token: str) -> dict[str, str]:
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}
