"""The bot's update queue: ids, allowed_updates, getUpdates offsets and long polling, the webhook setting.

Long polls wait in the server's event loop; updates may be added from any thread (a test talking to an
in-process sandbox), so waiting coroutines are woken with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from sandbox.telegram.errors import conflict

JSON = dict[str, Any]
FIRST_UPDATE_ID = 100_000_001
LONG_POLL_MAX_TIMEOUT = 50
# Update kinds Telegram leaves out unless allowed_updates names them explicitly.
NOT_SENT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
OTHER_POLL = "terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)


class Waker:
    """Lets any thread wake one coroutine waiting in the server's event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.terminated: str | None = None

    def wake(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the server's loop is closed: nobody is waiting any more
            pass

    async def wait(self, seconds: float | None = None) -> bool:
        """True when woken, False when `seconds` passed first."""
        try:
            await asyncio.wait_for(self.event.wait(), seconds)
        except TimeoutError:
            return False
        return True


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    generation: int


@dataclass(frozen=True)
class _Pending:
    update: JSON
    key: str  # updates with the same key reach a webhook one after another, in order


class UpdateQueue:
    """Pending updates of the bot and the two ways of receiving them."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._pending: list[_Pending] = []
        self._next_id = FIRST_UPDATE_ID
        self._allowed: frozenset[str] | None = None
        self._allowed_list: list[str] | None = None
        self._poll: Waker | None = None
        self._wakers: set[Waker] = set()
        self._webhook: WebhookConfig | None = None
        self._generation = 0
        self._last_error: tuple[int, str] | None = None
        self._last_poll: tuple[int, float] | None = None
        self._polls_started = 0
        self.created: deque[JSON] = deque(maxlen=10_000)
        self.busy_loop_guard = False

    def push(self, kind: str, payload: JSON, key: str) -> JSON | None:
        """Create an update unless allowed_updates filters it out; wake whoever waits for it."""
        with self._lock:
            if not self._accepts(kind):
                return None
            update = {"update_id": self._next_id, kind: payload}
            self._next_id += 1
            self._pending.append(_Pending(update, key))
            self.created.append(update)
            wakers = list(self._wakers)
        for waker in wakers:
            waker.wake()
        return update

    def _accepts(self, kind: str) -> bool:
        if self._allowed is None:
            return kind not in NOT_SENT_BY_DEFAULT
        return kind in self._allowed

    def _set_allowed(self, allowed: list[str] | None) -> None:
        # Omitted keeps the previous setting; an empty list means the default set.
        if allowed is not None:
            self._allowed = frozenset(allowed) if allowed else None
            self._allowed_list = allowed or None

    # getUpdates

    async def get_updates(
        self, offset: int, limit: int, poll_seconds: int, allowed: list[str] | None
    ) -> list[JSON]:
        """getUpdates: confirm below `offset`, return up to `limit`, long-poll up to `poll_seconds`."""
        poll = Waker()
        with self._lock:
            self._start_poll(poll)
            self._confirm(offset)
            self._set_allowed(allowed)
            limit, poll_seconds = self._guard_busy_loop(offset, limit, poll_seconds)
        try:
            return await self._wait_for_batch(poll, limit, poll_seconds)
        finally:
            with self._lock:
                self._wakers.discard(poll)
                if self._poll is poll:
                    self._poll = None

    def polling(self) -> bool:
        """Whether a getUpdates call is waiting in a long poll right now."""
        with self._lock:
            return self._poll is not None

    def polls_started(self) -> int:
        """How many getUpdates calls have reached the update queue so far (a barrier: polling has begun)."""
        with self._lock:
            return self._polls_started

    def _start_poll(self, poll: Waker) -> None:
        if self._webhook is not None:
            raise conflict(WEBHOOK_ACTIVE)
        self._terminate_poll(OTHER_POLL)
        self._poll = poll
        self._wakers.add(poll)
        self._polls_started += 1

    def _terminate_poll(self, reason: str) -> None:
        if self._poll is not None:
            self._poll.terminated = reason
            self._poll.wake()
            self._poll = None

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [item for item in self._pending if item.update["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _guard_busy_loop(self, offset: int, limit: int, timeout: int) -> tuple[int, int]:
        """The real server's anti-busy-loop rule for repeated polls with the same offset (off by default)."""
        now = time.monotonic()
        previous, self._last_poll = self._last_poll, (offset, now)
        if not self.busy_loop_guard or previous is None or previous[0] != offset:
            return limit, timeout
        elapsed = now - previous[1]
        timeout = 3 if timeout < 3 and elapsed < 3 else timeout
        return (1 if elapsed < 0.5 else limit), timeout

    async def _wait_for_batch(self, poll: Waker, limit: int, poll_seconds: int) -> list[JSON]:
        deadline = time.monotonic() + poll_seconds
        while True:
            poll.event.clear()
            with self._lock:
                if poll.terminated is not None:
                    raise conflict(poll.terminated)
                batch = [item.update for item in self._pending[:limit]]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                return batch
            await poll.wait(remaining)

    # Webhook

    def set_webhook(
        self, url: str, secret_token: str | None, max_connections: int, allowed: list[str] | None, drop: bool
    ) -> bool:
        """Install the webhook; False when exactly this webhook was already set."""
        with self._lock:
            self._terminate_poll("terminated by setWebhook request")
            if drop:
                self._pending.clear()
            self._set_allowed(allowed)
            current = self._webhook
            wanted = (url, secret_token, max_connections, self._allowed_list)
            if current is not None and wanted == (
                current.url,
                current.secret_token,
                current.max_connections,
                current.allowed_updates,
            ):
                return False
            self._generation += 1
            self._webhook = WebhookConfig(*wanted, generation=self._generation)
            self._last_error = None
            wakers = list(self._wakers)
        for waker in wakers:
            waker.wake()
        return True

    def delete_webhook(self, drop: bool) -> bool:
        """Remove the webhook; False when none was set."""
        with self._lock:
            if drop:
                self._pending.clear()
            was_set = self._webhook is not None
            self._webhook = None
            self._generation += 1
            return was_set

    def webhook(self) -> WebhookConfig | None:
        with self._lock:
            return self._webhook

    def webhook_info(self) -> JSON:
        with self._lock:
            info: JSON = {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if self._webhook is not None:
                info["url"] = self._webhook.url
                info["max_connections"] = self._webhook.max_connections
                if self._webhook.allowed_updates:
                    info["allowed_updates"] = self._webhook.allowed_updates
            if self._last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._last_error
            return info

    def record_webhook_error(self, date: int, message: str) -> None:
        with self._lock:
            self._last_error = (date, message)

    def pending_keys(self) -> list[str]:
        """Delivery queues with something to send, in the order of their oldest update."""
        with self._lock:
            return list(dict.fromkeys(item.key for item in self._pending))

    def head(self, key: str) -> JSON | None:
        with self._lock:
            return next((item.update for item in self._pending if item.key == key), None)

    def remove(self, update_id: int) -> None:
        with self._lock:
            self._pending = [item for item in self._pending if item.update["update_id"] != update_id]

    def add_waker(self, waker: Waker) -> None:
        with self._lock:
            self._wakers.add(waker)

    def remove_waker(self, waker: Waker) -> None:
        with self._lock:
            self._wakers.discard(waker)
