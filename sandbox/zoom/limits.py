"""Zoom's rate limits: the per-user daily create/update cap and the per-second label buckets (§3)."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import date

from sandbox.clock import Clock
from sandbox.zoom.errors import ApiError
from sandbox.zoom.times import http_date, next_utc_midnight, zoom_time

DAILY_LIMIT = 100
DAILY_MESSAGE = (
    "You have exceeded the daily rate limit ({limit}) of Meeting Create/Update API requests permitted for "
    "this particular user. You may resume these requests at GMT 00:00:00."
)
QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
RETRY_AFTER_FORMATS = ("iso", "http-date", "none")


def rate_label(path: str) -> str:
    """The rate-limit label of an endpoint: creating and listing meetings are Medium, the rest Light."""
    return "Medium" if path.endswith("/meetings") else "Light"


class RateLimits:
    """Counts requests the way Zoom limits them.

    The daily cap counts create and update calls per host user per UTC day and resets at 00:00 UTC; its
    429 carries the category, limit and remaining headers but, as observed in the wild, neither
    `Retry-After` nor `X-RateLimit-Type` unless `daily_retry_after` is switched on. The per-second limit is
    off until `qps_limit` is set, and then applies to each label bucket separately.
    """

    def __init__(self, clock: Clock, daily_limit: int = DAILY_LIMIT) -> None:
        self.daily_limit = daily_limit
        self.daily_retry_after = False
        self.qps_limit: int | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._daily: dict[str, tuple[date, int]] = {}
        self._recent: dict[str, deque[float]] = {}

    def take_daily(self, user_id: str, label: str) -> dict[str, str]:
        """Count one create/update for this user; the rate headers to send, or ApiError 429."""
        today = self._clock.now().date()
        with self._lock:
            day, used = self._daily.get(user_id, (today, 0))
            used = used if day == today else 0
            if used >= self.daily_limit:
                raise self.daily_exceeded(label, "iso" if self.daily_retry_after else "none")
            self._daily[user_id] = (today, used + 1)
            remaining = self.daily_limit - used - 1
        return self._headers(label, self.daily_limit, remaining)

    def check_qps(self, label: str) -> None:
        """Admit one request into the label's one-second window, or raise ApiError 429."""
        limit = self.qps_limit
        if limit is None:
            return
        now = time.monotonic()
        with self._lock:
            window = self._recent.setdefault(label, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                raise self.qps_exceeded(label, 1)
            window.append(now)

    def daily_exceeded(self, label: str, retry_after: str) -> ApiError:
        """The daily-cap 429; `retry_after` is "iso", "http-date" or "none"."""
        headers = self._headers(label, self.daily_limit, 0)
        midnight = next_utc_midnight(self._clock.now())
        if retry_after == "iso":
            headers["retry-after"] = zoom_time(midnight)
        elif retry_after == "http-date":
            headers["retry-after"] = http_date(midnight)
        return ApiError(429, 429, DAILY_MESSAGE.format(limit=self.daily_limit), headers=headers)

    def qps_exceeded(self, label: str, retry_after: int) -> ApiError:
        """The per-second 429, with `Retry-After` in seconds."""
        headers = self._headers(label, self.qps_limit or 1, 0)
        headers.update({"x-ratelimit-type": "QPS", "retry-after": str(retry_after)})
        return ApiError(429, 429, QPS_MESSAGE, headers=headers)

    @staticmethod
    def _headers(label: str, limit: int, remaining: int) -> dict[str, str]:
        return {
            "x-ratelimit-category": label,
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
        }
