"""Errors of the Zoom integration: one tree, so callers decide by type and never by parsing text."""

from __future__ import annotations

from datetime import datetime


class ZoomError(Exception):
    """Zoom answered with an error, or could not be reached."""

    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None, reason: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.reason = reason  # Zoom's own words, fit to show a person

    def in_words(self) -> str:
        """What to tell an owner: Zoom's message, or the status when Zoom gave none."""
        return self.reason or (f"Zoom answered {self.status}" if self.status else "Zoom could not be reached")


class ZoomConnectionError(ZoomError):
    """No answer from Zoom (connection refused, dropped or timed out): the outcome is unknown."""


class ZoomServerError(ZoomError):
    """Zoom failed with a 5xx; safe to retry."""


class ZoomAuthError(ZoomError):
    """The access token was refused (401, code 124)."""


class ZoomGrantError(ZoomError):
    """The refresh token or authorization code is no longer valid: the owner must connect again."""


class ZoomRateLimited(ZoomError):
    """429: wait until `retry_at`. `daily` marks the per-host daily create/update limit."""

    def __init__(self, message: str, *, retry_at: datetime | None, daily: bool) -> None:
        super().__init__(message, status=429, code=429)
        self.retry_at = retry_at
        self.daily = daily


class ZoomNotFound(ZoomError):
    """The meeting does not exist any more (404, code 3001)."""


class ZoomRequestError(ZoomError):
    """Zoom refused the request (4xx other than the above); retrying will not help."""
