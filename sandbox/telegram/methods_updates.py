"""Bot API methods for receiving updates: getUpdates and the webhook methods."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from sandbox.telegram.bot_api import Described, Handler, MethodCall
from sandbox.telegram.errors import bad_request
from sandbox.telegram.params import Params
from sandbox.telegram.state import SandboxState
from sandbox.telegram.updates import JSON, LONG_POLL_MAX_TIMEOUT

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
MAX_SECRET_TOKEN = 256
MAX_CONNECTIONS_LOCAL = 100_000  # a local Bot API server allows this many


class UpdateMethods:
    """getUpdates with real long polling, and webhooks delivered over HTTP (http:// allowed, as locally)."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def handlers(self) -> dict[str, Handler]:
        return {
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
        }

    async def get_updates(self, call: MethodCall) -> Any:
        params = call.params
        poll = self._state.updates.get_updates(
            offset=params.integer("offset", 0),
            limit=params.integer("limit", 100, 1, 100),
            poll_seconds=params.integer("timeout", 0, 0, LONG_POLL_MAX_TIMEOUT),
            allowed=_allowed_updates(params),
        )
        return await _unless_client_leaves(call.request, poll)

    async def set_webhook(self, call: MethodCall) -> Any:
        params = call.params
        url = (params.text("url") or "").strip()
        if not url:
            return await self._remove_webhook(params)
        _check_webhook_url(url)
        changed = self._state.updates.set_webhook(
            url=url,
            secret_token=_secret_token(params),
            max_connections=params.integer("max_connections", 40, 1, MAX_CONNECTIONS_LOCAL),
            allowed=_allowed_updates(params),
            drop=params.boolean("drop_pending_updates"),
        )
        if changed:
            await self._state.delivery.restart()
        return Described(True, "Webhook was set" if changed else "Webhook is already set")

    async def delete_webhook(self, call: MethodCall) -> Any:
        return await self._remove_webhook(call.params)

    async def _remove_webhook(self, params: Params) -> Described:
        was_set = self._state.updates.delete_webhook(drop=params.boolean("drop_pending_updates"))
        await self._state.delivery.stop()
        return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def get_webhook_info(self, call: MethodCall) -> Any:
        return self._state.updates.webhook_info()


def _allowed_updates(params: Params) -> list[str] | None:
    allowed = params.json("allowed_updates", "can't parse allowed_updates JSON object")
    if allowed is None:
        return None
    if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
        raise bad_request("can't parse allowed_updates JSON object")
    return allowed


def _secret_token(params: Params) -> str | None:
    secret = params.text("secret_token")
    if not secret:
        return None
    if len(secret) > MAX_SECRET_TOKEN:
        raise bad_request("secret token is too long")
    if not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    return secret


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise bad_request("invalid webhook URL specified")
    if parts.scheme.lower() not in ("http", "https"):
        raise bad_request("bad webhook: Unsupported URL protocol")


async def _unless_client_leaves(request: Request, poll: Coroutine[Any, Any, list[JSON]]) -> list[JSON]:
    """Await a long poll, abandoning it when the client disconnects (e.g. the bot stopped polling)."""
    task = asyncio.ensure_future(poll)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        left_early = not task.done()
        task.cancel()
        gone.cancel()
        await asyncio.gather(task, gone, return_exceptions=True)
    return [] if left_early else task.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
