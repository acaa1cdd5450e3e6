"""Webhook delivery as the real server does it: per-chat queues, one update in flight per queue, retries.

The next update of a queue (a chat for messages, a user for callback queries) is sent only after a 2xx for
the previous one. Failures are retried after `base_delay`, doubling up to `max_delay`; after `max_attempts`
the update is dropped, and every failure is visible in getWebhookInfo's last_error_*.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from sandbox.clock import Clock
from sandbox.telegram.updates import JSON, UpdateQueue, Waker, WebhookConfig


@dataclass
class RetryPolicy:
    base_delay: float = 0.5
    max_delay: float = 5.0
    max_attempts: int = 10


class WebhookDelivery:
    """Runs in the server's event loop while a webhook is set."""

    def __init__(self, updates: UpdateQueue, clock: Clock, policy: RetryPolicy) -> None:
        self._updates = updates
        self._clock = clock
        self.policy = policy
        self._dispatcher: asyncio.Task[None] | None = None
        self._waker: Waker | None = None
        self._client: httpx.AsyncClient | None = None
        self._busy_keys: set[str] = set()
        self._connections = asyncio.Semaphore(1)  # setWebhook's max_connections, replaced on restart
        self._drains: set[asyncio.Task[None]] = set()
        self.attempts: list[JSON] = []

    async def restart(self) -> None:
        """Start delivering to the (new) webhook from the current, i.e. the server's, event loop."""
        await self.stop()
        self._waker = Waker()
        self._updates.add_waker(self._waker)
        self._client = httpx.AsyncClient(timeout=10.0, trust_env=False)
        config = self._updates.webhook()
        self._connections = asyncio.Semaphore(config.max_connections if config else 1)
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch(self._waker, self._client))

    async def stop(self) -> None:
        """Cancel deliveries in flight (their updates stay pending) and release the HTTP client."""
        tasks = [task for task in (self._dispatcher, *self._drains) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._waker is not None:
            self._updates.remove_waker(self._waker)
        if self._client is not None:
            await self._client.aclose()
        self._dispatcher, self._waker, self._client = None, None, None
        self._busy_keys.clear()

    async def _dispatch(self, waker: Waker, client: httpx.AsyncClient) -> None:
        while self._updates.webhook() is not None:
            waker.event.clear()
            for key in self._updates.pending_keys():
                if key not in self._busy_keys:
                    self._start_drain(key, waker, client)
            await waker.wait()

    def _start_drain(self, key: str, waker: Waker, client: httpx.AsyncClient) -> None:
        self._busy_keys.add(key)
        task = asyncio.get_running_loop().create_task(self._drain(key, waker, client))
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    async def _drain(self, key: str, waker: Waker, client: httpx.AsyncClient) -> None:
        """Send the updates of one queue strictly one after another."""
        try:
            while (config := self._updates.webhook()) is not None:
                update = self._updates.head(key)
                if update is None:
                    return
                await self._deliver(client, config, update)
        finally:
            self._busy_keys.discard(key)
            waker.wake()

    async def _deliver(self, client: httpx.AsyncClient, config: WebhookConfig, update: JSON) -> None:
        delay = self.policy.base_delay
        for attempt in range(1, self.policy.max_attempts + 1):
            current = self._updates.webhook()
            if current is None or current.generation != config.generation:
                return  # the webhook changed: the update stays pending for whatever comes next
            async with self._connections:
                error = await _post(client, config, update)
            self.attempts.append(
                {
                    "update_id": update["update_id"],
                    "attempt": attempt,
                    "error": error,
                    "at": self._clock.time(),
                }
            )
            if error is None:
                break
            self._updates.record_webhook_error(int(self._clock.time()), error)
            if attempt < self.policy.max_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.policy.max_delay)
        self._updates.remove(update["update_id"])


async def _post(client: httpx.AsyncClient, config: WebhookConfig, update: JSON) -> str | None:
    """POST one update; None on 2xx, else the error text getWebhookInfo shows."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": config.secret_token} if config.secret_token else {}
    try:
        response = await client.post(config.url, json=update, headers=headers)
    except httpx.TimeoutException:
        return "Connection timed out"
    except httpx.ConnectError:
        return "Connection refused"
    except httpx.HTTPError as exc:
        return f"Connection error: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
