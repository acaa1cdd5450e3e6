"""A faithful Zoom emulator: OAuth, the meetings REST API, rate limits, webhooks and fault switches.

Run it on its own with `python -m sandbox.zoom --port 8900 --client-id ... --client-secret ...
--redirect-uri ... --webhook-secret ...`; tests serve `ZoomSandbox(...).app` with `ServedApp`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware

from sandbox.clock import Clock
from sandbox.zoom.api import MeetingsApi
from sandbox.zoom.control import ControlEndpoints
from sandbox.zoom.edge import RequestLog, ZoomEdge
from sandbox.zoom.errors import ApiError, api_error_handler
from sandbox.zoom.events import HostActivity
from sandbox.zoom.faults import FaultBook, FaultRunner, Holds
from sandbox.zoom.grants import Authority, OAuthClient
from sandbox.zoom.limits import RateLimits
from sandbox.zoom.meetings import MeetingBook, control_view
from sandbox.zoom.oauth import OAuthEndpoints
from sandbox.zoom.users import Directory
from sandbox.zoom.webhooks import WebhookSender
from sandbox.zoom.webhooks import sign as sign_webhook

DEFAULT_USER = "owner@example.com"


class ZoomSandbox:
    """Zoom as the bot sees it, served over real HTTP: zoom.us OAuth, api.zoom.us `/v2`, webhooks out.

    One Marketplace app is registered (client id, secret, redirect URI, webhook secret token). The
    sandbox starts with one Zoom user, `owner@example.com`, logged in at zoom.us in the person's browser.
    All state lives in memory behind locks: the app is served from a uvicorn thread and inspected or
    steered from others, either through these methods or through the JSON control API under `/sandbox/`
    (see `sandbox.zoom.control_client.ZoomControl`).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        webhook_secret_token: str,
        webhook_url: str | None = None,
        token_lifetime: int = 3599,
    ) -> None:
        self.clock = Clock()
        self.directory = Directory(self.clock)
        self.authority = Authority(
            self.clock, OAuthClient(client_id, client_secret, redirect_uri), token_lifetime
        )
        self.book = MeetingBook(self.clock)
        self.limits = RateLimits(self.clock)
        self.faults = FaultBook()
        self.holds = Holds()
        self.log = RequestLog(self.clock)
        self.webhooks = WebhookSender(webhook_secret_token, webhook_url, self.clock)
        self.events = HostActivity(self.directory, self.authority, self.book, self.webhooks, self.clock)
        self._webhook_secret = webhook_secret_token
        self.directory.add(DEFAULT_USER)
        self.directory.login(DEFAULT_USER)
        self.app = self._build_app()

    def _build_app(self) -> Starlette:
        oauth = OAuthEndpoints(self.directory, self.authority)
        api = MeetingsApi(self.directory, self.authority, self.book, self.limits, self.events, self.clock)
        edge = Middleware(
            ZoomEdge, faults=self.faults, runner=FaultRunner(self.limits, self.holds), log=self.log
        )
        return Starlette(
            routes=[*oauth.routes(), *api.routes(), *ControlEndpoints(self).routes()],
            middleware=[edge],
            exception_handlers={ApiError: api_error_handler},
        )

    # Zoom users and the browser session

    def add_user(self, email: str, timezone: str = "UTC") -> dict[str, Any]:
        """Create a Zoom user (or return the existing one with that email)."""
        return self.directory.add(email, timezone).brief()

    def change_user_settings(self, email: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a user's own Zoom settings (`{"in_meeting": {"waiting_room": true}}`, ...)."""
        return self.directory.change_settings(email, changes)

    def users(self) -> list[dict[str, Any]]:
        """Every Zoom user."""
        return [user.brief() for user in self.directory.all()]

    def login(self, email: str) -> None:
        """Make the person's browser logged in at zoom.us as this user."""
        self.directory.login(email)

    def decline_next_consent(self) -> None:
        """The next consent screen is declined: the app gets `error=access_denied`."""
        self.directory.decline_next_consent()

    # What happened

    def meetings(self, email: str | None = None) -> list[dict[str, Any]]:
        """Every meeting (of one host if `email` is given), deleted ones included and flagged."""
        host_id = None if email is None else self.directory.require(email).id
        return [control_view(m) for m in self.book.everything() if host_id in (None, m.host_id)]

    def requests(self) -> list[dict[str, Any]]:
        """Every call to the emulated Zoom: method, path, query, json, form, status, user, fault, at."""
        return self.log.entries()

    def token_calls(self) -> list[dict[str, Any]]:
        """Every `/oauth/token` call: grant_type, status, error, at."""
        return self.authority.calls()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery report."""
        return self.webhooks.deliveries()

    # Fault switches and knobs

    def add_fault(
        self, method: str, path_pattern: str, kind: str, count: int | None = 1, **params: Any
    ) -> None:
        """Arm a fault switch (see `sandbox.zoom.faults.FAULT_KINDS` for kinds and parameters)."""
        self.faults.add(method, path_pattern, kind, count, **params)

    def clear_faults(self) -> None:
        """Disarm every fault switch and let go of held requests."""
        self.faults.clear()
        self.holds.release_all()

    def release_held(self) -> None:
        """Let go of every request a hang fault is holding (lets the server shut down quickly)."""
        self.holds.release_all()

    def set_token_lifetime(self, seconds: int) -> None:
        """Lifetime (and `expires_in`) of access tokens issued from now on."""
        self.authority.token_lifetime = seconds

    def set_code_ttl(self, seconds: float) -> None:
        """How long authorization codes issued from now on stay valid (Zoom: 5 minutes)."""
        self.authority.code_ttl = seconds

    def set_scopes(self, scope: str) -> None:
        """The space-separated scopes granted by authorizations from now on."""
        self.authority.scope = scope

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired from now on (refresh tokens still work)."""
        self.authority.expire_access_tokens()

    def revoke_user_grants(self, email: str) -> None:
        """Revoke every grant of this user: refresh gets invalid_grant, access tokens 401 code 124."""
        self.authority.revoke_user(self.directory.require(email).id)

    def set_daily_limit(self, n: int) -> None:
        """Per-user daily cap on meeting create+update calls (Zoom: 100)."""
        self.limits.daily_limit = n

    def set_daily_retry_after(self, enabled: bool) -> None:
        """Whether the daily-cap 429 carries `Retry-After` (next 00:00 UTC, ISO); off like real Zoom."""
        self.limits.daily_retry_after = enabled

    def set_qps_limit(self, per_second: int | None) -> None:
        """Per-second limit per rate-limit label (None switches it off, the default)."""
        self.limits.qps_limit = per_second

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward (expiry of tokens and codes, the daily reset)."""
        self.clock.advance(seconds)

    # Webhooks

    def set_webhook_url(self, url: str | None) -> None:
        """Where events are POSTed."""
        self.webhooks.url = url

    def set_emit_api_events(self, enabled: bool) -> None:
        """Whether the app's own PATCH/DELETE calls are echoed as webhooks, as real Zoom does."""
        self.webhooks.emit_api_events = enabled

    def set_webhook_retry_delays(self, delays: Sequence[float]) -> None:
        """Pauses before Zoom re-sends an event that got no 2xx (real Zoom: 300, 1200, 3600); empty: none."""
        self.webhooks.retry_delays = tuple(float(delay) for delay in delays)

    def sign(self, body: bytes, timestamp: int) -> dict[str, str]:
        """The headers Zoom would send with this body at this time (reference §4.2)."""
        return sign_webhook(self._webhook_secret, body, timestamp)

    async def send_webhook(self, event: str, variant: str = "signed", **params: Any) -> dict[str, Any]:
        """Make an event happen (for `signed`) and deliver it; returns the delivery report."""
        return await self.events.send(event, variant, params)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a sandbox from the command line."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.zoom", description="Serve the Zoom emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--webhook-secret", required=True)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--token-lifetime", type=int, default=3599)
    args = parser.parse_args(argv)
    sandbox = ZoomSandbox(
        args.client_id,
        args.client_secret,
        args.redirect_uri,
        args.webhook_secret,
        args.webhook_url,
        args.token_lifetime,
    )
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="info")
