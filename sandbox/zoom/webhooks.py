"""Outgoing Zoom webhooks: the signature (reference §4.2), test variants, delivery and its report."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.clock import Clock
from sandbox.zoom.ids import opaque_token
from sandbox.zoom.times import zoom_time

VARIANTS = ("signed", "forged", "stale", "unsigned", "replay")
STALE_SECONDS = 600
DELIVERY_TIMEOUT = 3.0  # Zoom wants a 2xx within 3 seconds (reference §4.1)


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers Zoom sends: `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{body}`)."""
    message = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return {
        "x-zm-request-timestamp": str(timestamp),
        "x-zm-signature": f"v0={digest}",
        "content-type": "application/json",
    }


def encrypted_token(secret: str, plain_token: str) -> str:
    """What `endpoint.url_validation` expects back: hex HMAC-SHA256(secret, plainToken)."""
    return hmac.new(secret.encode("utf-8"), plain_token.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Outgoing:
    """One webhook request exactly as it goes on the wire."""

    event: str
    body: bytes
    headers: dict[str, str]


class WebhookSender:
    """Signs and posts events to the app's endpoint and remembers what it sent and what came back.

    `emit_api_events` says whether changes the app itself makes through the API are echoed back as
    events, as real Zoom does; it is off by default so tests opt in to echoes. `retry_delays` are the
    pauses before re-sending an event the endpoint did not take with a 2xx (Zoom: 300, 1200, 3600
    seconds); empty, the default, means no retries.
    """

    def __init__(self, secret: str, url: str | None, clock: Clock, timeout: float = DELIVERY_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self.emit_api_events = False
        self.retry_delays: tuple[float, ...] = ()
        self._secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, Outgoing] = {}
        self._deliveries: list[dict[str, Any]] = []
        self._retries: set[asyncio.Task[None]] = set()

    def compose(self, event: str, payload: dict[str, Any], variant: str) -> Outgoing:
        """Serialize and sign an event; `variant` is signed, forged, stale or unsigned."""
        now = self._clock.time()
        envelope = {"event": event, "event_ts": int(now * 1000), "payload": payload}
        body = json.dumps(envelope, separators=(",", ":")).encode("utf-8")
        timestamp = int(now) - (STALE_SECONDS if variant == "stale" else 0)
        secret = opaque_token() if variant == "forged" else self._secret
        headers = sign(secret, body, timestamp)
        if variant == "unsigned":
            headers = {"content-type": "application/json"}
        headers["user-agent"] = "Zoom Marketplace/1.0a"
        return Outgoing(event, body, headers)

    def _resigned(self, outgoing: Outgoing) -> Outgoing:
        headers = {
            **sign(self._secret, outgoing.body, int(self._clock.time())),
            "user-agent": "Zoom Marketplace/1.0a",
        }
        return Outgoing(outgoing.event, outgoing.body, headers)

    def encrypted_token(self, plain_token: str) -> str:
        """The `encryptedToken` a correct answer to url_validation carries."""
        return encrypted_token(self._secret, plain_token)

    def previous(self, event: str) -> Outgoing:
        """The last delivery of this event, byte for byte (for the replay variant)."""
        with self._lock:
            if event not in self._last:
                raise LookupError(f"no earlier {event} delivery to replay")
            return self._last[event]

    async def deliver(self, outgoing: Outgoing, variant: str) -> dict[str, Any]:
        """POST to the webhook URL and report the answer (or the transport error)."""
        url = self.url
        if url is None:
            raise LookupError("no webhook_url configured")
        report: dict[str, Any] = {
            "event": outgoing.event,
            "variant": variant,
            "url": url,
            "at": zoom_time(self._clock.now()),
            "sent": {"headers": dict(outgoing.headers), "body": outgoing.body.decode("utf-8")},
        }
        report.update(await self._post(url, outgoing))
        with self._lock:
            self._last[outgoing.event] = outgoing
            self._deliveries.append(report)
        return report

    def retry_if_failed(self, outgoing: Outgoing, report: dict[str, Any]) -> None:
        """Schedule Zoom's retries of a signed event the endpoint did not accept (runs on the server loop)."""
        if _accepted(report) or not self.retry_delays:
            return
        task = asyncio.get_running_loop().create_task(self._retry(outgoing, self.retry_delays))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    def retrying(self) -> bool:
        """Whether retries of an event the endpoint did not accept are still scheduled."""
        return bool(self._retries)

    async def _retry(self, outgoing: Outgoing, delays: tuple[float, ...]) -> None:
        # The same body (so the same event_ts), signed again at the time of each attempt.
        for attempt, delay in enumerate(delays, start=1):
            await asyncio.sleep(delay)
            if _accepted(await self.deliver(self._resigned(outgoing), f"retry-{attempt}")):
                return

    async def _post(self, url: str, outgoing: Outgoing) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
                answer = await client.post(url, content=outgoing.body, headers=outgoing.headers)
        except httpx.HTTPError as exc:
            return {"delivered": False, "status": None, "body": "", "headers": {}, "error": repr(exc)}
        headers = dict(answer.headers)
        return {
            "delivered": True,
            "status": answer.status_code,
            "body": answer.text,
            "headers": headers,
            "error": None,
        }

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery report so far, oldest first."""
        with self._lock:
            return [dict(report) for report in self._deliveries]


def _accepted(report: dict[str, Any]) -> bool:
    status = report.get("status")
    return isinstance(status, int) and 200 <= status < 300
